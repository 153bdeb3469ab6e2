#!/usr/bin/env python3
"""PyTorch side of bench/train-step.ts: one optimizer step of the stories15M
shape (dim 288, 6 layers, 6 heads, vocab 32000, seq 256, batch 1) for each
technique set, on the CPU, with the model code of scripts/make-goldens.py
(Meta's LLaMA-2 training path, loralib's LoRA Linear).

Usage: python3 bench/torch_train_step.py [--steps N] [--sets full,full+ckpt,lora,lora+ckpt]
Prints one JSON object per line: {"info": {...}} first (torch version, threads,
the BLAS library actually loaded), then {"set", "ms": [per step], "loss"}.
Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset so OpenBLAS picks its
real kernels for this CPU.
"""
import argparse
import importlib.util
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))  # make-goldens.py imports its helpers from there
spec = importlib.util.spec_from_file_location("make_goldens", os.path.join(HERE, "..", "scripts", "make-goldens.py"))
mg = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mg)

ARGS = dict(dim=288, n_layers=6, n_heads=6, n_kv_heads=6, vocab_size=32000, multiple_of=32, max_seq_len=256)
SEQ = 256


def loaded_blas():
    """The BLAS shared libraries mapped into this process (what actually runs the matmuls)."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            base = os.path.basename(path)
            if any(s in base for s in ("blas", "mkl", "lapack")):
                libs.add(os.path.realpath(path))
    return sorted(libs)


def block_forward(block, x, freqs_cis, mask, ckpt):
    def attention_half(x):
        return block.attention.forward(block.attention_norm(x), 0, freqs_cis, mask)

    def ffn_half(h):
        return block.feed_forward.forward(block.ffn_norm(h))

    if not ckpt:
        h = x + attention_half(x)
        return h + ffn_half(h)
    # The seed's layout (gradlab's 'two-segments'): each half is one checkpoint.
    h = x + checkpoint(attention_half, x, use_reentrant=False)
    return h + checkpoint(ffn_half, h, use_reentrant=False)


def forward(model, tokens, ckpt):
    h = model.tok_embeddings(tokens)
    freqs_cis = model.freqs_cis[:SEQ]
    mask = torch.triu(torch.full((SEQ, SEQ), float("-inf")), diagonal=1)
    for block in model.layers:
        h = block_forward(block, h, freqs_cis, mask, ckpt)
    return model.output(model.norm(h)).float()


def run_set(name, steps):
    torch.manual_seed(0)
    lora = name.startswith("lora")
    ckpt = name.endswith("+ckpt")
    model = mg.Transformer(mg.ModelArgs(**ARGS))
    if lora:
        for p in model.parameters():
            p.requires_grad_(False)
        for block in model.layers:
            for target in ("wq", "wv"):
                base = getattr(block.attention, target)
                layer = mg.LoRALinear(base.in_features, base.out_features, r=16, lora_alpha=32, lora_dropout=0.05, merge_weights=False, bias=False)
                with torch.no_grad():
                    layer.weight.copy_(base.weight)
                setattr(block.attention, target, layer)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, ARGS["vocab_size"], (1, SEQ), generator=g)
    labels = torch.randint(0, ARGS["vocab_size"], (1, SEQ), generator=g)
    times, loss_value = [], None
    for step in range(steps + 1):  # step 0 warms up
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = forward(model, tokens, ckpt)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, ARGS["vocab_size"]), labels[:, 1:].reshape(-1), ignore_index=-100)
        loss.backward()
        opt.step()
        loss_value = loss.item()
        if step > 0:
            times.append((time.perf_counter() - t) * 1000)
    return {"set": name, "ms": times, "median_ms": statistics.median(times), "loss": loss_value, "trainable": sum(p.numel() for p in params)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--sets", default="full,full+ckpt,lora,lora+ckpt")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("GRADLAB_TORCH_THREADS", os.cpu_count())))
    info = {
        "torch": torch.__version__, "threads": torch.get_num_threads(), "blas_loaded": loaded_blas(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"), "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
    }
    print(json.dumps({"info": info}), flush=True)
    for name in a.sets.split(","):
        print(json.dumps(run_set(name, a.steps)), flush=True)


if __name__ == "__main__":
    main()
