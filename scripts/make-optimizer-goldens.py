#!/usr/bin/python3
"""Golden files for gradlab's AdamW tests, computed by PyTorch's torch.optim.AdamW.

Run with Debian's python3-torch:

    /usr/bin/python3 scripts/make-optimizer-goldens.py     # writes test/goldens/optimizer/

For each case it writes, in f32 and f64 (same starting values):

  adamw-<case>-<dtype>.safetensors
      init.p<i>                  every parameter before the first step
      step<k>.grad.p<i>          the gradient given to parameter i at step k (absent: grad is None)
      step<k>.param.p<i>         every parameter after step k
      step<k>.exp_avg.p<i>       state after step k, for parameters that have state
      step<k>.exp_avg_sq.p<i>
  adamw-cases.json
      per case: hyperparameters, the lr used at each step (a scheduler changes it),
      the parameters (shape, requires_grad), which have a grad at each step, and
      torch's final state_dict()["state"] steps per index (which indices have state).

Cases:
  general   non-default lr/betas/eps, weight decay 0.1, a frozen parameter,
            a parameter whose first grad comes at step 1, one that skips steps,
            lr changed from step 3 on.
  tiny-eps  eps 1e-10 with gradients around 1e-10 (eps is as large as sqrt(v))
            and elements whose gradient is always 0 (v stays 0: denom = eps).

GradScaler has no CPU implementation in PyTorch 1.13 (torch._amp_update_scale_
and _amp_foreach_non_finite_check_and_unscale_ are CUDA-only), so its tests
carry a model of its rules written from torch/cuda/amp/grad_scaler.py instead.
"""

import json
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "goldens", "optimizer")

ST_DTYPES = {torch.float64: "F64", torch.float32: "F32"}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        b = tensors[name].detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": ST_DTYPES[tensors[name].dtype], "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    js = json.dumps({"__metadata__": {"writer": "make-optimizer-goldens.py", "torch": torch.__version__}} | header, separators=(",", ":")).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)


def general_case(gen):
    params = [
        {"shape": [3, 4], "requires_grad": True},
        {"shape": [5], "requires_grad": True},
        {"shape": [2, 3], "requires_grad": False},
        {"shape": [2, 2], "requires_grad": True},
    ]
    steps = 6
    has_grad = [
        [True, True, False, False],
        [True, True, False, True],
        [True, False, False, True],
        [True, True, False, True],
        [True, False, False, True],
        [True, True, False, True],
    ]
    init = [torch.randn(p["shape"], generator=gen) for p in params]
    grads = [[torch.randn(params[i]["shape"], generator=gen) * 0.5 if has_grad[k][i] else None for i in range(len(params))] for k in range(steps)]
    hyper = {"lr": 0.02, "betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": 0.1}
    lrs = [0.02, 0.02, 0.02, 0.005, 0.005, 0.005]
    return params, init, grads, hyper, lrs


def tiny_eps_case(gen):
    params = [{"shape": [8], "requires_grad": True}, {"shape": [4], "requires_grad": True}]
    steps = 5
    init = [torch.randn(p["shape"], generator=gen) for p in params]
    # p0: gradients of order 1e-10, so sqrt(v_hat) ~ eps; elements 0 and 5 always 0.
    # p1: ordinary gradients except element 2, always 0 (m = v = 0: the update is 0/eps = 0).
    grads = []
    for _ in range(steps):
        g0 = torch.randn(8, generator=gen) * 1e-10
        g0[0] = 0.0
        g0[5] = 0.0
        g1 = torch.randn(4, generator=gen)
        g1[2] = 0.0
        grads.append([g0, g1])
    hyper = {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-10, "weight_decay": 0.05}
    return params, init, grads, hyper, [hyper["lr"]] * steps


def run(name, params, init, grads, hyper, lrs, dtype):
    torch_params = [init[i].to(dtype).clone().requires_grad_(p["requires_grad"]) for i, p in enumerate(params)]
    opt = torch.optim.AdamW(torch_params, lr=hyper["lr"], betas=tuple(hyper["betas"]), eps=hyper["eps"], weight_decay=hyper["weight_decay"])
    out = {f"init.p{i}": t.detach().clone() for i, t in enumerate(torch_params)}
    for k, step_grads in enumerate(grads):
        for group in opt.param_groups:
            group["lr"] = lrs[k]
        for t, g in zip(torch_params, step_grads):
            t.grad = None if g is None else g.to(dtype).clone()
        if any(g is not None for g in step_grads):
            for i, g in enumerate(step_grads):
                if g is not None:
                    out[f"step{k}.grad.p{i}"] = g.to(dtype).clone()
        opt.step()
        for i, t in enumerate(torch_params):
            out[f"step{k}.param.p{i}"] = t.detach().clone()
            st = opt.state.get(t)
            if st:
                out[f"step{k}.exp_avg.p{i}"] = st["exp_avg"].clone()
                out[f"step{k}.exp_avg_sq.p{i}"] = st["exp_avg_sq"].clone()
    write_safetensors(os.path.join(OUT, f"adamw-{name}-{'f32' if dtype == torch.float32 else 'f64'}.safetensors"), out)
    return {str(i): int(s["step"].item()) for i, s in opt.state_dict()["state"].items()}


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = {}
    for name, make, seed in [("general", general_case, 1234), ("tiny-eps", tiny_eps_case, 5678)]:
        gen = torch.Generator().manual_seed(seed)
        params, init, grads, hyper, lrs = make(gen)
        # Values are drawn in f32, so the f64 run starts from exactly the same numbers.
        init = [t.float() for t in init]
        grads = [[None if g is None else g.float() for g in step] for step in grads]
        final_steps = None
        for dtype in (torch.float32, torch.float64):
            steps = run(name, params, init, grads, hyper, lrs, dtype)
            assert final_steps is None or final_steps == steps
            final_steps = steps
        cases[name] = {
            "hyper": hyper,
            "lrs": lrs,
            "params": params,
            "grads": [[g is not None for g in step] for step in grads],
            "final_state_steps": final_steps,
        }
    with open(os.path.join(OUT, "adamw-cases.json"), "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print("optimizer goldens written to", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
