#!/usr/bin/python3
"""Golden files for gradlab's mixed precision (autocast f16) on a tiny LLaMA-2.

Run with Debian's python3-torch:

    /usr/bin/python3 scripts/make-autocast-goldens.py    # writes test/goldens/llama2-autocast-f16/

PyTorch on the CPU has no f16 autocast and no f16 matmul, so this script
reproduces what CUDA's `torch.autocast("cuda", torch.float16)` does to Meta's
LLaMA-2 code (scripts/make-goldens.py has the plain model) with explicit
roundings, op by op, following autocast's op policy (ATen autocast_mode.cpp):

  * linear / matmul: inputs cast to f16, product accumulated in higher
    precision, output rounded to f16. Under autocast the matmul's backward
    runs in f16 too: the incoming gradient is f16 and both input gradients are
    rounded to f16. A cast f32 -> f16 passes the f16 gradient back up to f32
    (exactly), so f32 master weights get f32 gradients (whose values are f16
    values for every linear weight).
  * Meta's `.float()` / `.type_as(...)` casts: rotary on `xq.float()` then
    `.type_as(xq)` (f16); softmax in f32 then `.type_as(xq)` (f16); logits
    `.float()`. The gradient of every f16 tensor is f16 (autograd casts a
    gradient to its tensor's dtype), so each f16 -> f32 cast rounds the
    gradient flowing back through it.
  * scores (f16) + mask (f32, `type_as(h)` of the f32 embedding output)
    promote to f32; the residual adds f32 + f16 promote to f32; RMSNorm runs
    on the f32 residual stream; cross-entropy in f32 (ignore index -100, mean).
  * f16 elementwise ops (silu, silu * gate, the score scale, LoRA's scaling and
    `result += update`) compute in f32 and round their output once (CUDA's
    opmath); their backward kernels likewise round each input gradient once.

All arithmetic here is f64; the f16 roundings are the policy's and are exact
(numpy's correctly rounded f64 -> f16 conversion). The f32 ops are therefore
computed without f32 rounding: an f32 ulp is 2^13 times finer than an f16 ulp,
far below what the tests can resolve. gradlab's CPU backend works the same way
(f64 arithmetic, one rounding per stored value).

Each case has two goldens: expected-<case>.safetensors is PyTorch's FFN
(silu rounded to f16, then silu * gate rounded), and
expected-<case>.fused-silu-mul.safetensors the same policy with silu(a) * b
as one f16 op (gradlab's fused siluMul: one rounding of the product; in
backward ga = g*b*silu'(a) and gb = g*silu(a) rounded once each). The tests
compare with both (see test/autocast/llama-f16-golden-cpu.test.ts for why).

Cases (one weights file; `weights.safetensors` holds the base and the LoRA
factors of wq and wv):

  expected-full.safetensors            every parameter trainable (no LoRA):
                                       logits, loss, grad.<name> of each.
  expected-lora.safetensors            LoRA (r 4, alpha 8, dropout 0) on wq and
                                       wv, everything else frozen (loralib's
                                       mark_only_lora_as_trainable).
  expected-lora-f16-base.safetensors   the same with every frozen matrix (linear
                                       weights and the embedding table) stored
                                       in f16: gradlab's storeFrozenWeightsInF16
                                       (beyond PyTorch). The embedding rows are
                                       then f16 values cast up into the f32
                                       residual stream; the frozen linears need
                                       no cast, with the same values as the
                                       per-use casts of the f32 case.

The backward starts from `loss * loss_scale` (config.json), as GradScaler's
`scale(loss)` does: unscaled, about 10% of the gradient values of the
attention matmuls fall into f16's subnormal range (none at 65536). The stored gradients are those of the scaled loss (what
`.grad` holds before `unscale_`); the stored loss is unscaled.

Before writing anything the script checks itself: with the roundings
switched off, the emulation must reproduce Meta's f64 model from
make-goldens.py (logits and LoRA gradients to 1e-6). `--study` also prints
how far policy variants (gradlab's fused gate, f32 storage of f32 values,
softmax kept in f16, no autocast) move the results, in f16 unit roundoffs:
the numbers behind the tests' tolerances.

A run is deterministic (fixed seed; threads, SIMD level and BLAS kernels
pinned by torch_determinism.py): running it twice gives identical files.
"""

import importlib.util
import json
import math
import os
import sys

import torch_determinism

# Before torch loads: threads, SIMD level and BLAS kernels pinned (see torch_determinism.py).
torch_determinism.pin_environment()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "goldens", "llama2-autocast-f16")

_spec = importlib.util.spec_from_file_location("make_goldens", os.path.join(HERE, "make-goldens.py"))
_make_goldens = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_make_goldens)
write_safetensors = _make_goldens.write_safetensors  # the hand-written safetensors writer

ARGS = {"dim": 32, "nLayers": 2, "nHeads": 4, "nKvHeads": 2, "vocabSize": 64, "multipleOf": 32, "normEps": 1e-5, "maxSeqLen": 16}
LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "targets": ["wq", "wv"]}
BATCH, SEQ = 2, 12
# GradScaler's init_scale. Checked below: no gradient overflows f16 at this scale.
LOSS_SCALE = 65536.0


# Switches for variants of the policy. fused_silu_mul gives the second golden of each case;
# the others are for `--study` (how far a bug or an implementation detail moves the results)
# and for the self-check (no_autocast: no roundings at all).
STUDY = {"fused_silu_mul": False, "softmax_f16": False, "no_autocast": False, "f32_rounding": False, "f32_jitter": None}


# ---------------------------------------------------------------- f16 rounding as autograd functions


def r16(x):
    """x (f64) rounded to the nearest f16 value (ties to even), kept as f64."""
    if STUDY["no_autocast"]:  # the self-check below: no rounding gives Meta's model in f64
        return x.detach().clone()
    return torch.from_numpy(x.detach().numpy().astype(np.float16).astype(np.float64))


class Cast16(torch.autograd.Function):
    """f32 -> f16 (`.to(f16)`, `.type_as(f16 tensor)`, autocast's input casts).
    Backward: the f16 gradient cast up to f32, exactly."""

    @staticmethod
    def forward(ctx, x):
        return r16(x)

    @staticmethod
    def backward(ctx, g):
        return r16(g)  # the gradient of an f16 tensor is f16 (sums of several uses round once)


class Cast32(torch.autograd.Function):
    """f16 -> f32 (`.float()`, promotion of an f16 operand). Backward: autograd
    casts the f32 gradient to the f16 input's dtype, rounding it."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return r16(g)


class Linear16(torch.autograd.Function):
    """F.linear / matmul under autocast on f16 operands: x (..., k) @ w^T with w (n, k).
    Output rounded to f16; backward in f16: both gradients rounded to f16, the
    weight gradient as one matmul over the flattened batch (as F.linear's)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return r16(x @ w.transpose(0, 1))

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        g = r16(g)
        gx = r16(g @ w)
        gw = r16(g.reshape(-1, g.shape[-1]).transpose(0, 1) @ x.reshape(-1, x.shape[-1]))
        return gx, gw


class BatchedMatmul16(torch.autograd.Function):
    """torch.matmul of two f16 tensors with equal batch shapes (attention's bmm)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return r16(a @ b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        g = r16(g)
        return r16(g @ b.transpose(-1, -2)), r16(a.transpose(-1, -2) @ g)


class Scale16(torch.autograd.Function):
    """f16 tensor times (or divided by) a Python scalar, computed in f32, rounded to f16."""

    @staticmethod
    def forward(ctx, x, c):
        ctx.c = c
        return r16(x * c)

    @staticmethod
    def backward(ctx, g):
        return r16(r16(g) * ctx.c), None


class Add16(torch.autograd.Function):
    """f16 + f16 (LoRA's `result += update`)."""

    @staticmethod
    def forward(ctx, a, b):
        return r16(a + b)

    @staticmethod
    def backward(ctx, g):
        g = r16(g)
        return g, g


class Silu16(torch.autograd.Function):
    """F.silu on f16: silu in f32, rounded; backward silu_backward, rounded once."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return r16(F.silu(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)
        return r16(r16(g) * s * (1 + x * (1 - s)))


class Mul16(torch.autograd.Function):
    """f16 * f16, rounded; backward g * other, rounded."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return r16(a * b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        g = r16(g)
        return r16(g * b), r16(g * a)


class Rotary16(torch.autograd.Function):
    """Meta's apply_rotary_emb on one f16 tensor: `x.float()`, times freqs_cis
    (adjacent pairs as complex numbers), `.type_as(x)`. Backward: the f16
    gradient cast up, rotated back in f32, cast to f16 by `.float()`'s backward."""

    @staticmethod
    def forward(ctx, x, cos, sin):
        ctx.save_for_backward(cos, sin)
        return r16(rotate(x, cos, sin))

    @staticmethod
    def backward(ctx, g):
        cos, sin = ctx.saved_tensors
        return r16(rotate(r16(g), cos, -sin)), None, None


def rotate(x, cos, sin):
    """x (B, S, H, hd); cos, sin (S, hd/2): (x0 + i x1) * (cos + i sin) per adjacent pair."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)


# ---------------------------------------------------------------- Meta's LLaMA-2 under autocast f16


def hidden_dim_of(dim, multiple_of):
    hidden = int(2 * (4 * dim) / 3)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


def rms_norm(x, w, eps):
    # `self._norm(x.float()).type_as(x) * self.weight`: x is the f32 residual stream.
    return Round32.apply(x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w)


def linear(x, w, lora=None):
    """nn.Linear (or loralib's Linear) under autocast. x is f32 (a norm's output):
    each use casts it anew. w: f32 (cast here, the cached cast's values) or already f16."""
    x16 = Cast16.apply(x)
    result = Linear16.apply(x16, Cast16.apply(w))
    if lora is None:
        return result
    a, b, scaling = lora
    # loralib: result += (dropout(x) @ A^T @ B^T) * scaling, dropout 0 (identity); x cast again.
    update = Linear16.apply(Linear16.apply(Cast16.apply(x), Cast16.apply(a)), Cast16.apply(b))
    return Add16.apply(result, Scale16.apply(update, scaling))



def linear16(x16, w):
    """A linear whose input is already f16 (wo after attention, w2 after the gate): no input cast."""
    return Linear16.apply(x16, Cast16.apply(w))


def attention(x, p, prefix, cos, sin, mask):
    bsz, seqlen, _ = x.shape
    H, K = ARGS["nHeads"], ARGS["nKvHeads"]
    hd = ARGS["dim"] // H
    xq = linear(x, p[f"{prefix}.wq.weight"], lora_of(p, f"{prefix}.wq"))
    xk = linear(x, p[f"{prefix}.wk.weight"])
    xv = linear(x, p[f"{prefix}.wv.weight"], lora_of(p, f"{prefix}.wv"))
    xq = Rotary16.apply(xq.view(bsz, seqlen, H, hd), cos, sin)
    xk = Rotary16.apply(xk.view(bsz, seqlen, K, hd), cos, sin)
    xv = xv.view(bsz, seqlen, K, hd)
    n_rep = H // K  # repeat_kv: kv head j serves query heads j*n_rep .. j*n_rep+n_rep-1
    keys = xk[:, :, :, None, :].expand(bsz, seqlen, K, n_rep, hd).reshape(bsz, seqlen, H, hd)
    values = xv[:, :, :, None, :].expand(bsz, seqlen, K, n_rep, hd).reshape(bsz, seqlen, H, hd)
    xq, keys, values = xq.transpose(1, 2), keys.transpose(1, 2), values.transpose(1, 2)
    # `/ math.sqrt(hd)`: CUDA multiplies an f16 tensor by the f32 reciprocal of a scalar divisor.
    inv_sqrt = float(np.float32(1.0) / np.float32(math.sqrt(hd)))
    scores = Scale16.apply(BatchedMatmul16.apply(xq, keys.transpose(2, 3)), inv_sqrt)
    scores = Cast32.apply(scores) + mask  # f16 scores + f32 mask -> f32
    if STUDY["softmax_f16"]:  # study only: softmax kept in f16 (its saved output rounded)
        probs = Softmax16.apply(scores)
    else:
        probs = Cast16.apply(Round32.apply(F.softmax(scores, dim=-1)))  # F.softmax(scores.float()).type_as(xq)
    out = BatchedMatmul16.apply(probs, values)
    out = out.transpose(1, 2).contiguous().view(bsz, seqlen, -1)
    return Cast32.apply(linear16(out, p[f"{prefix}.wo.weight"]))  # f16 output meets the f32 residual


def feed_forward(x, p, prefix):
    a = linear(x, p[f"{prefix}.w1.weight"])
    b = linear(x, p[f"{prefix}.w3.weight"])
    gate = SiluMulFused16.apply(a, b) if STUDY["fused_silu_mul"] else Mul16.apply(Silu16.apply(a), b)
    return Cast32.apply(linear16(gate, p[f"{prefix}.w2.weight"]))


def lora_of(p, prefix):
    if f"{prefix}.lora_A" not in p:
        return None
    return p[f"{prefix}.lora_A"], p[f"{prefix}.lora_B"], LORA["alpha"] / LORA["r"]


def rotary_tables(seqlen):
    """Meta's precompute_freqs_cis in f32 (as gradlab's f32 tables), as f64 cos and sin (S, hd/2)."""
    hd = ARGS["dim"] // ARGS["nHeads"]
    freqs = 1.0 / (10000.0 ** (torch.arange(0, hd, 2)[: hd // 2].float() / hd))
    angles = torch.outer(torch.arange(2 * ARGS["maxSeqLen"]), freqs).float()
    freqs_cis = torch.polar(torch.ones_like(angles), angles)[:seqlen]
    return freqs_cis.real.double(), freqs_cis.imag.double()


def forward(p, tokens):
    """Logits (f32 holding f16 values) of Meta's Transformer under autocast f16. The embedding
    table is f32, or holds f16 values for the f16 frozen base (gradlab casts its rows up to
    the f32 residual stream)."""
    bsz, seqlen = tokens.shape
    cos, sin = rotary_tables(seqlen)
    mask = torch.triu(torch.full((seqlen, seqlen), float("-inf"), dtype=torch.float64), diagonal=1)
    h = F.embedding(tokens, p["tok_embeddings.weight"])  # not an autocast op: f32 in, f32 out
    eps = ARGS["normEps"]
    for i in range(ARGS["nLayers"]):
        pre = f"layers.{i}"
        h = Round32.apply(h + attention(rms_norm(h, p[f"{pre}.attention_norm.weight"], eps), p, f"{pre}.attention", cos, sin, mask))
        h = Round32.apply(h + feed_forward(rms_norm(h, p[f"{pre}.ffn_norm.weight"], eps), p, f"{pre}.feed_forward"))
    h = rms_norm(h, p["norm.weight"], eps)
    return Cast32.apply(linear(h, p["output.weight"]))  # self.output(h).float()


def shifted_loss(logits, labels):
    V = ARGS["vocabSize"]
    return F.cross_entropy(logits[:, :-1, :].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)


# ---------------------------------------------------------------- variants: gradlab's fused gate, and study-only ones

def f32_storage(x):
    """Study only: x stored in f32, and with f32_jitter (a seeded torch.Generator) also moved by
    up to one f32 ulp at random, as another f32 implementation (other kernels, other summation
    order) would leave it."""
    y = x.float().double()
    if STUDY["f32_jitter"] is not None:
        k = torch.randint(-1, 2, y.shape, generator=STUDY["f32_jitter"]).double()
        y = (y * (1 + k * 2.0**-24)).float().double()
    return y


class Round32(torch.autograd.Function):
    """Study only: f32 storage of an f32 op's output (and of its gradient), as gradlab and CUDA do."""

    @staticmethod
    def forward(ctx, x):
        return f32_storage(x) if STUDY["f32_rounding"] else x.clone()

    @staticmethod
    def backward(ctx, g):
        return f32_storage(g) if STUDY["f32_rounding"] else g


class SiluMulFused16(torch.autograd.Function):
    """gradlab's fused siluMul on f16: silu(a) * b rounded once; ga = g*b*silu'(a) and
    gb = g*silu(a) (unrounded silu) rounded once each."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return r16(F.silu(a) * b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        g, s = r16(g), torch.sigmoid(a)
        return r16(g * b * s * (1 + a * (1 - s))), r16(g * a * s)


class Softmax16(torch.autograd.Function):
    """A policy bug: softmax on f16 scores with an f16 output saved for backward."""

    @staticmethod
    def forward(ctx, x):
        y = r16(F.softmax(r16(x), dim=-1))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        g = r16(g)
        return r16(y * (g - (g * y).sum(-1, keepdim=True)))


# ---------------------------------------------------------------- weights, inputs, cases


def make_weights():
    """Meta's/loralib's initializations in f32, norms and LoRA B moved off their defaults
    (ones and zeros would hide a mixed-up weight and zero every lora_A gradient)."""
    torch.manual_seed(20240917)
    dim, V, H, K = ARGS["dim"], ARGS["vocabSize"], ARGS["nHeads"], ARGS["nKvHeads"]
    hd, hidden = dim // H, hidden_dim_of(dim, ARGS["multipleOf"])
    uniform = lambda out, fan_in: (torch.rand(out, fan_in) * 2 - 1) / math.sqrt(fan_in)  # kaiming-uniform a=sqrt(5)
    w = {"tok_embeddings.weight": torch.randn(V, dim)}
    for i in range(ARGS["nLayers"]):
        pre = f"layers.{i}"
        w[f"{pre}.attention.wq.weight"] = uniform(H * hd, dim)
        w[f"{pre}.attention.wk.weight"] = uniform(K * hd, dim)
        w[f"{pre}.attention.wv.weight"] = uniform(K * hd, dim)
        w[f"{pre}.attention.wo.weight"] = uniform(dim, H * hd)
        w[f"{pre}.feed_forward.w1.weight"] = uniform(hidden, dim)
        w[f"{pre}.feed_forward.w2.weight"] = uniform(dim, hidden)
        w[f"{pre}.feed_forward.w3.weight"] = uniform(hidden, dim)
        w[f"{pre}.attention_norm.weight"] = 1 + 0.1 * torch.randn(dim)
        w[f"{pre}.ffn_norm.weight"] = 1 + 0.1 * torch.randn(dim)
        for t in LORA["targets"]:
            out = w[f"{pre}.attention.{t}.weight"].shape[0]
            w[f"{pre}.attention.{t}.lora_A"] = uniform(LORA["r"], dim)
            w[f"{pre}.attention.{t}.lora_B"] = 0.2 * torch.randn(out, LORA["r"])
    w["norm.weight"] = 1 + 0.1 * torch.randn(dim)
    w["output.weight"] = uniform(V, dim)
    tokens = torch.randint(0, V, (BATCH, SEQ), dtype=torch.int64)
    labels = tokens.clone()
    labels[0, :4] = -100  # an instruction prompt
    labels[1, 9:] = -100  # right padding
    return {n: t.float() for n, t in w.items()}, tokens, labels


def is_lora(name):
    return "lora_" in name


def run_case(case, weights, tokens, labels):
    """One forward + backward of `loss * LOSS_SCALE`; returns {logits, loss, grad.<trainable>}."""
    lora = case != "full"
    p = {}
    for name, t in weights.items():
        if is_lora(name) and not lora:
            continue
        v = t.double()
        frozen_matrix = lora and not is_lora(name) and v.dim() == 2
        if case == "lora-f16-base" and frozen_matrix:
            v = r16(v)  # storeFrozenWeightsInF16
        p[name] = v.requires_grad_(is_lora(name) or not lora)
    logits = forward(p, tokens)
    loss = shifted_loss(logits, labels)
    (loss * LOSS_SCALE).backward()
    result = {"logits": logits.detach().float(), "loss": loss.detach().float()}
    for name, t in p.items():
        if t.requires_grad:
            assert torch.isfinite(t.grad).all(), f"{case}: grad of {name} is not finite at loss scale {LOSS_SCALE}"
            result[f"grad.{name}"] = t.grad.detach().float()
    return result


CASES = ("full", "lora", "lora-f16-base")


def main():
    torch_determinism.pin_torch(torch)
    print(f"{torch_determinism.describe(torch)}, numpy {np.__version__}, python {sys.version.split()[0]}")
    os.makedirs(OUT, exist_ok=True)
    weights, tokens, labels = make_weights()
    self_check(weights, tokens, labels)
    write_safetensors(os.path.join(OUT, "weights.safetensors"), weights, metadata={"format": "pt", "layout": "meta-llama2"})
    write_safetensors(os.path.join(OUT, "inputs.safetensors"), {"tokens": tokens, "labels": labels})
    results = {}
    for case in CASES:
        results[case] = run_case(case, weights, tokens, labels)
        write_safetensors(os.path.join(OUT, f"expected-{case}.safetensors"), results[case])
        print(f"{case}: loss {results[case]['loss'].item():.9f}, {sum(k.startswith('grad.') for k in results[case])} gradients")
        STUDY["fused_silu_mul"] = True
        try:
            fused = run_case(case, weights, tokens, labels)
        finally:
            STUDY["fused_silu_mul"] = False
        write_safetensors(os.path.join(OUT, f"expected-{case}.fused-silu-mul.safetensors"), fused)
    config = {
        "model_args": ARGS,
        "lora": LORA,
        "batch": BATCH,
        "seq": SEQ,
        "loss": "cross_entropy(logits[:, :-1], labels[:, 1:], ignore_index=-100), mean; backward from loss * loss_scale",
        "loss_scale": LOSS_SCALE,
        "cases": {
            "full": "every parameter trainable, no LoRA",
            "lora": "LoRA on wq, wv; only lora_A, lora_B trainable; frozen base in f32 (cast to f16 at each use)",
            "lora-f16-base": "as lora, with every frozen matrix stored in f16 (storeFrozenWeightsInF16)",
        },
        "fused_silu_mul": "expected-<case>.fused-silu-mul.safetensors: the same policy with silu(a) * b as one f16 op (one rounding of the product; ga = g*b*silu'(a), gb = g*silu(a) rounded once each), gradlab's fused siluMul",
        "autocast": "CUDA torch.autocast(float16) op policy emulated with explicit roundings (scripts/make-autocast-goldens.py)",
        "torch": torch.__version__,
    }
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    if "--study" in sys.argv:
        study(weights, tokens, labels, results)


def self_check(weights, tokens, labels):
    """With the roundings switched off, the emulation must be Meta's f64 model (make-goldens.py's
    Transformer): checks the structure (GQA, rotary pairs, masks, LoRA) apart from the policy."""
    mg = _make_goldens
    args = mg.ModelArgs(dim=ARGS["dim"], n_layers=ARGS["nLayers"], n_heads=ARGS["nHeads"], n_kv_heads=ARGS["nKvHeads"],
                        vocab_size=ARGS["vocabSize"], multiple_of=ARGS["multipleOf"], norm_eps=ARGS["normEps"], max_seq_len=ARGS["maxSeqLen"])
    model = mg.Transformer(args)
    mg.apply_lora(model, LORA["r"], LORA["alpha"], LORA["targets"])
    model = model.double()  # f64 with f32 rotary tables, like the emulation
    with torch.no_grad():
        for n, q in model.named_parameters():
            q.copy_(weights[n].double())
            q.requires_grad_(is_lora(n))
    logits = model(tokens)
    loss = mg.F.cross_entropy(logits[:, :-1, :].reshape(-1, args.vocab_size), labels[:, 1:].reshape(-1), ignore_index=-100)
    (loss * LOSS_SCALE).backward()
    STUDY["no_autocast"] = True
    try:
        mine = run_case("lora", weights, tokens, labels)
    finally:
        STUDY["no_autocast"] = False
    worst = (mine["logits"].double() - logits.detach()).abs().max().item()
    for n, q in model.named_parameters():
        if q.requires_grad:
            worst = max(worst, ((mine[f"grad.{n}"].double() - q.grad).abs().max() / q.grad.abs().max()).item())
    assert worst < 1e-6, f"self-check: the emulation without roundings differs from Meta's model by {worst}"
    print(f"self-check: without roundings the emulation is Meta's f64 model (worst relative difference {worst:.1e}, f32 storage)")


def distances(other, golden):
    """Per tensor, in f16 unit roundoffs u = 2^-11: max|d| / max|golden| and ||d|| / ||golden||
    (the tests' maxRel and normRel)."""
    u = 2.0**-11
    out = {}
    for key, want in golden.items():
        want = want.double().flatten()
        d = (other[key].double().flatten() - want).abs()
        mx = (d.max() / want.abs().max()).item() / u
        norm = (d.norm() / want.norm()).item() / u
        out[key] = (mx, norm)
    return out


def study(weights, tokens, labels, results):
    """Distance of policy variants from both goldens (see distances), then the noise floor
    against the fused-silu-mul golden. Prints only; the goldens are not touched."""
    for base_name, base_flags in (("pytorch", {}), ("fused", {"fused_silu_mul": True})):
        for k, v in base_flags.items():
            STUDY[k] = v
        golden = {case: run_case(case, weights, tokens, labels) for case in CASES}
        for variant in ("f32_rounding", "fused_silu_mul", "softmax_f16", "no_autocast"):
            flags = dict(base_flags)
            flags[variant] = True
            if variant == "fused_silu_mul" and base_flags:
                continue
            for k, v in flags.items():
                STUDY[k] = v
            for case in CASES:
                dist = distances(run_case(case, weights, tokens, labels), golden[case])
                grads = [(v, k) for k, v in dist.items() if k.startswith("grad.")]
                wmax = max(grads, key=lambda t: t[0][0])
                wn = max(grads, key=lambda t: t[0][1])
                mean_norm = sum(v[1] for v, _ in grads) / len(grads)
                print(f"vs {base_name:7s} {variant:15s} {case:14s} logits {dist['logits'][0]:5.2f}u/{dist['logits'][1]:5.2f}u  grads max {wmax[0][0]:5.2f}u ({wmax[1][5:]})  norm {wn[0][1]:5.2f}u ({wn[1][5:]}) mean norm {mean_norm:5.2f}u")
            for k in flags:
                STUDY[k] = False
            for k, v in base_flags.items():
                STUDY[k] = v
        for k in base_flags:
            STUDY[k] = False
    # The noise floor against the fused golden: f32 storage with one-ulp jitter, 20 seeds.
    STUDY["fused_silu_mul"] = True
    golden = {case: run_case(case, weights, tokens, labels) for case in CASES}
    STUDY["f32_rounding"] = True
    for case in CASES:
        rows = []
        for seed in range(20):
            STUDY["f32_jitter"] = torch.Generator().manual_seed(seed)
            dist = distances(run_case(case, weights, tokens, labels), golden[case])
            grads = [v for k, v in dist.items() if k.startswith("grad.")]
            rows.append((dist["logits"][0], dist["logits"][1], max(v[0] for v in grads), sum(v[1] for v in grads) / len(grads)))
        cols = list(zip(*rows))
        print(f"noise (f32 jitter, 20 seeds) {case:14s} logits max {max(cols[0]):5.2f}u norm {max(cols[1]):5.2f}u; "
              f"grads worst max {max(cols[2]):5.2f}u (median {sorted(cols[2])[10]:5.2f}u), mean norm worst {max(cols[3]):5.2f}u (median {sorted(cols[3])[10]:5.2f}u)")
    STUDY.update(fused_silu_mul=False, f32_rounding=False, f32_jitter=None)


if __name__ == "__main__":
    main()
