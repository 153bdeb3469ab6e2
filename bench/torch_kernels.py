#!/usr/bin/env python3
"""PyTorch figures for gradlab's kernel benchmark (bench/kernels.ts runs this).

Reads a JSON list of cases on stdin ({id, op, args}), times each with PyTorch
on the CPU (and on CUDA when available) and prints one JSON object per line:
{id, device, ms} or {id, device, error}. Same shapes and dtypes as the
gradlab cases; ops without a fused PyTorch kernel (RMSNorm in torch 1.13) are
written the way LLaMA's reference code writes them.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

DTYPES = {"f32": torch.float32, "f16": torch.float16}


def build(op, a, device):
    dt = DTYPES[a["dtype"]]
    g = torch.Generator(device="cpu").manual_seed(1234)

    def randn(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g) * scale).to(device=device, dtype=dt)

    if op == "matmul":
        x = randn(a["m"], a["k"], scale=0.1)
        w = randn(a["n"], a["k"], scale=0.1) if a["bTransposed"] else randn(a["k"], a["n"], scale=0.1)
        return (lambda: x @ w.t()) if a["bTransposed"] else (lambda: x @ w)
    if op == "add":
        x, y = randn(a["numel"]), randn(a["numel"])
        return lambda: x + y
    if op == "silu":
        x = randn(a["numel"])
        return lambda: F.silu(x)
    if op == "softmax":
        x = randn(a["rows"], a["cols"], scale=3.0)
        return lambda: torch.softmax(x, dim=-1)
    if op in ("rmsNorm", "rmsNormBackward"):
        x = randn(a["rows"], a["cols"]).requires_grad_(op == "rmsNormBackward")
        w = (torch.rand(a["cols"], generator=g) + 0.5).to(device=device, dtype=dt).requires_grad_(op == "rmsNormBackward")

        def forward():
            xf = x.float()
            return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-5)).type_as(x) * w

        if op == "rmsNorm":
            return lambda: forward()
        y = forward()
        gy = randn(a["rows"], a["cols"])
        return lambda: torch.autograd.grad(y, (x, w), gy, retain_graph=True)
    if op in ("crossEntropy", "crossEntropyBackward"):
        logits = randn(a["rows"], a["cols"], scale=3.0).requires_grad_(op == "crossEntropyBackward")
        labels = (torch.arange(a["rows"]) * 7919 % a["cols"]).to(device)
        if op == "crossEntropy":
            return lambda: F.cross_entropy(logits.float(), labels, reduction="none")
        loss = F.cross_entropy(logits.float(), labels, reduction="none")
        gl = torch.ones_like(loss)
        return lambda: torch.autograd.grad(loss, logits, gl, retain_graph=True)
    raise ValueError(f"unknown op {op}")


def time_op(fn, device, budget_s):
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    fn()
    sync()
    t = time.perf_counter()
    fn()
    sync()
    single = time.perf_counter() - t
    reps = max(1, min(200, int(budget_s / max(single, 1e-6))))
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        sync()
        best = min(best, (time.perf_counter() - t) / reps)
    return best * 1000


def main():
    # Use every core, as the other backends in the run do (some builds default to one thread).
    torch.set_num_threads(os.cpu_count() or 1)
    cases = json.load(sys.stdin)
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    # The BLAS libraries actually mapped into this process (OpenBLAS, or torch's own fallback).
    with open("/proc/self/maps") as f:
        blas = sorted({os.path.realpath(l.split()[-1]) for l in f if len(l.split()) >= 6 and "blas" in os.path.basename(l.split()[-1])})
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    print(json.dumps({"info": info}), flush=True)
    for device in devices:
        for c in cases:
            if device == "cpu" and c.get("cpuSkip"):
                print(json.dumps({"id": c["id"], "device": device, "error": c["cpuSkip"]}), flush=True)
                continue
            try:
                with torch.no_grad() if not c["op"].endswith("Backward") else torch.enable_grad():
                    fn = build(c["op"], c["args"], device)
                    ms = time_op(fn, device, budget)
                print(json.dumps({"id": c["id"], "device": device, "ms": ms}), flush=True)
            except Exception as e:  # noqa: BLE001 - report any failure as this case's result
                print(json.dumps({"id": c["id"], "device": device, "error": f"{type(e).__name__}: {e}"}), flush=True)


if __name__ == "__main__":
    main()
