#!/usr/bin/python3
"""Golden files for gradlab's Hugging Face LLaMA import and PEFT adapter interop.

Run with Debian's python3-torch (transformers, peft and safetensors are NOT
needed, and not used: everything they would do is written out below, so the
goldens are an independent path from gradlab's code):

    /usr/bin/python3 scripts/make-hf-goldens.py        # writes test/goldens/hf-llama/

It writes, all small and committed:

  model/         a tiny LLaMA (dim 32, 2 layers, 4 heads, 2 kv heads, vocab
                 64, intermediate size 72 where Meta's rule would give 96,
                 rms_norm_eps 1e-6, rope_theta 1000) in Hugging Face's layout:
                 config.json, two F32 shards and model.safetensors.index.json.
                 The weights are made in Meta's layout and converted exactly
                 as transformers' convert_llama_weights_to_hf.py does:
                 names mapped, and wq / wk rows permuted with its `permute`
                 (huggingface/transformers, src/transformers/models/llama/
                 convert_llama_weights_to_hf.py, commit 01cc9cd9):
                     def permute(w, n_heads, dim1=dim, dim2=dim):
                         return w.view(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(1, 2).reshape(dim1, dim2)
                 called with n_heads for wq and num_key_value_heads,
                 dim1 = key_value_dim for wk.
  tied-bf16/     the same model with tie_word_embeddings true (no lm_head in
                 the file), one model.safetensors, matrices in BF16 and norms
                 in F16.
  lora-adapter/  a PEFT LoRA adapter for model/ (adapter_config.json,
                 adapter_model.safetensors) on q_proj, k_proj and v_proj, with
                 random non-zero A and B made in HF's (permuted) space.
  expected.safetensors
                 tokens (2, 8) i32; logits of an HF-style forward (split-half
                 rotate_half rotary on the permuted weights, as
                 transformers' modeling_llama.py computes it) for model/ in
                 f32 and f64, for tied-bf16/ in f32, and for model/ plus the
                 adapter in f32 and f64; and Meta-layout wq / wk of every
                 layer (before the permutation) to check the inverse directly.

Deterministic: fixed seeds, one thread.
"""

import json
import math
import os
import struct

import torch
import torch.nn.functional as F

torch.manual_seed(20261202)
torch.set_num_threads(1)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "goldens", "hf-llama")

DIM, LAYERS, HEADS, KV_HEADS, VOCAB, INTERMEDIATE = 32, 2, 4, 2, 64, 72
HEAD_DIM = DIM // HEADS
KV_DIM = KV_HEADS * HEAD_DIM
EPS, THETA, MAX_POS = 1e-6, 1000.0, 64
LORA_R, LORA_ALPHA, LORA_DROPOUT, LORA_TARGETS = 4, 8, 0.1, ["q_proj", "k_proj", "v_proj"]


# ---------------------------------------------------------------- safetensors, by hand

ST_DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int32: "I32"}


def tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()  # numpy has no bfloat16: the raw 16-bit patterns
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """Official layout: JSON keys sorted, data in that order, header padded with spaces to 8 bytes."""
    header = {"__metadata__": metadata} if metadata is not None else {}
    blobs, offset = [], 0
    for name in sorted(tensors):
        b = tensor_bytes(tensors[name])
        header[name] = {"dtype": ST_DTYPES[tensors[name].dtype], "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    js = json.dumps(header, separators=(",", ":")).encode("utf-8")
    js += b" " * ((8 - len(js) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)
    return offset


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


# ---------------------------------------------------------------- the model, in Meta's layout, then converted


def meta_weights():
    w = lambda *shape, scale=0.2: torch.randn(*shape) * scale
    sd = {"tok_embeddings.weight": w(VOCAB, DIM, scale=1.0)}
    for i in range(LAYERS):
        p = f"layers.{i}."
        sd[p + "attention.wq.weight"] = w(HEADS * HEAD_DIM, DIM)
        sd[p + "attention.wk.weight"] = w(KV_DIM, DIM)
        sd[p + "attention.wv.weight"] = w(KV_DIM, DIM)
        sd[p + "attention.wo.weight"] = w(DIM, HEADS * HEAD_DIM)
        sd[p + "feed_forward.w1.weight"] = w(INTERMEDIATE, DIM)
        sd[p + "feed_forward.w2.weight"] = w(DIM, INTERMEDIATE)
        sd[p + "feed_forward.w3.weight"] = w(INTERMEDIATE, DIM)
        # Norm weights away from 1 so a swapped or missing norm shows in the logits.
        sd[p + "attention_norm.weight"] = 1 + w(DIM, scale=0.3)
        sd[p + "ffn_norm.weight"] = 1 + w(DIM, scale=0.3)
    sd["norm.weight"] = 1 + w(DIM, scale=0.3)
    sd["output.weight"] = w(VOCAB, DIM, scale=0.5)
    return sd


def permute(w, n_heads, dim1=DIM, dim2=DIM):
    # convert_llama_weights_to_hf.py's permute, verbatim in effect: Meta's adjacent pairs -> HF's split halves.
    return w.view(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(1, 2).reshape(dim1, dim2)


def to_hf(meta, tied=False):
    hf = {"model.embed_tokens.weight": meta["tok_embeddings.weight"], "model.norm.weight": meta["norm.weight"]}
    if not tied:
        hf["lm_head.weight"] = meta["output.weight"]
    for i in range(LAYERS):
        m, h = f"layers.{i}.", f"model.layers.{i}."
        hf[h + "self_attn.q_proj.weight"] = permute(meta[m + "attention.wq.weight"], n_heads=HEADS)
        hf[h + "self_attn.k_proj.weight"] = permute(meta[m + "attention.wk.weight"], n_heads=KV_HEADS, dim1=KV_DIM)
        hf[h + "self_attn.v_proj.weight"] = meta[m + "attention.wv.weight"]
        hf[h + "self_attn.o_proj.weight"] = meta[m + "attention.wo.weight"]
        hf[h + "mlp.gate_proj.weight"] = meta[m + "feed_forward.w1.weight"]
        hf[h + "mlp.down_proj.weight"] = meta[m + "feed_forward.w2.weight"]
        hf[h + "mlp.up_proj.weight"] = meta[m + "feed_forward.w3.weight"]
        hf[h + "input_layernorm.weight"] = meta[m + "attention_norm.weight"]
        hf[h + "post_attention_layernorm.weight"] = meta[m + "ffn_norm.weight"]
    return hf


def config_json(tied, torch_dtype):
    # The fields LlamaConfig.to_json_string writes for such a model.
    return {
        "architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": DIM, "initializer_range": 0.02,
        "intermediate_size": INTERMEDIATE, "max_position_embeddings": MAX_POS, "model_type": "llama",
        "num_attention_heads": HEADS, "num_hidden_layers": LAYERS, "num_key_value_heads": KV_HEADS,
        "pretraining_tp": 1, "rms_norm_eps": EPS, "rope_scaling": None, "rope_theta": THETA,
        "tie_word_embeddings": tied, "torch_dtype": torch_dtype, "use_cache": True, "vocab_size": VOCAB,
    }


# ---------------------------------------------------------------- HF-style forward (modeling_llama.py, eager attention)


def at_least_f32(x):
    return x if x.dtype == torch.float64 else x.float()


def rms_norm(x, weight):
    input_dtype = x.dtype
    h = at_least_f32(x)
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + EPS)
    return weight * h.to(input_dtype)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(seq, dtype):
    inv_freq = 1.0 / (THETA ** (torch.arange(0, HEAD_DIM, 2, dtype=torch.int64).to(dtype) / HEAD_DIM))
    freqs = torch.outer(torch.arange(seq, dtype=dtype), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def repeat_kv(x, n_rep):
    b, kv, s, d = x.shape
    return x[:, :, None, :, :].expand(b, kv, n_rep, s, d).reshape(b, kv * n_rep, s, d)


def hf_forward(hf, tokens, dtype, adapter=None):
    """Logits (B, S, V) of LlamaForCausalLM with eager attention; `adapter` maps an HF module name to (A, B)."""
    w = {k: v.to(dtype) for k, v in hf.items()}
    lm_head = w.get("lm_head.weight", w["model.embed_tokens.weight"])  # tied: the embedding

    def proj(x, module):
        y = x @ w[module + ".weight"].T
        if adapter is not None and module in adapter:
            a, b = (t.to(dtype) for t in adapter[module])
            y = y + (x @ a.T @ b.T) * (LORA_ALPHA / LORA_R)  # PEFT's Linear, eval mode: no dropout
        return y

    bsz, seq = tokens.shape
    x = w["model.embed_tokens.weight"][tokens.long()]
    cos, sin = rope_cos_sin(seq, dtype)
    mask = torch.full((seq, seq), float("-inf"), dtype=dtype).triu(1)
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"])
        q = proj(h, p + "self_attn.q_proj").view(bsz, seq, HEADS, HEAD_DIM).transpose(1, 2)
        k = proj(h, p + "self_attn.k_proj").view(bsz, seq, KV_HEADS, HEAD_DIM).transpose(1, 2)
        v = proj(h, p + "self_attn.v_proj").view(bsz, seq, KV_HEADS, HEAD_DIM).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k, v = repeat_kv(k, HEADS // KV_HEADS), repeat_kv(v, HEADS // KV_HEADS)
        scores = q @ k.transpose(2, 3) / math.sqrt(HEAD_DIM) + mask
        probs = F.softmax(scores, dim=-1, dtype=torch.float64 if dtype == torch.float64 else torch.float32).to(dtype)
        o = (probs @ v).transpose(1, 2).reshape(bsz, seq, DIM)
        x = x + proj(o, p + "self_attn.o_proj")
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"])
        x = x + proj(F.silu(proj(h, p + "mlp.gate_proj")) * proj(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    return at_least_f32(rms_norm(x, w["model.norm.weight"]) @ lm_head.T)


# ---------------------------------------------------------------- writing


def main():
    meta = meta_weights()
    hf = to_hf(meta)
    tokens = torch.randint(0, VOCAB, (2, 8), dtype=torch.int32)

    # model/: two shards the way save_pretrained splits them (state-dict order, first shard filled first).
    model_dir = os.path.join(OUT, "model")
    os.makedirs(model_dir, exist_ok=True)
    first = {k: v for k, v in hf.items() if k.startswith("model.embed_tokens") or k.startswith("model.layers.0.")}
    second = {k: v for k, v in hf.items() if k not in first}
    shards = {"model-00001-of-00002.safetensors": first, "model-00002-of-00002.safetensors": second}
    total, weight_map = 0, {}
    for file, tensors in shards.items():
        total += write_safetensors(os.path.join(model_dir, file), tensors, metadata={"format": "pt"})
        weight_map.update({name: file for name in tensors})
    write_json(os.path.join(model_dir, "model.safetensors.index.json"), {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))})
    write_json(os.path.join(model_dir, "config.json"), config_json(tied=False, torch_dtype="float32"))

    # tied-bf16/: no lm_head; matrices BF16, norms F16; the logits use exactly those rounded values.
    tied_dir = os.path.join(OUT, "tied-bf16")
    os.makedirs(tied_dir, exist_ok=True)
    tied = {k: v.to(torch.float16 if k.endswith("norm.weight") else torch.bfloat16) for k, v in to_hf(meta, tied=True).items()}
    write_safetensors(os.path.join(tied_dir, "model.safetensors"), tied, metadata={"format": "pt"})
    write_json(os.path.join(tied_dir, "config.json"), config_json(tied=True, torch_dtype="bfloat16"))

    # lora-adapter/: A (r, in) and B (out, r) in HF's space, both non-zero so every row of B matters.
    lora_dir = os.path.join(OUT, "lora-adapter")
    os.makedirs(lora_dir, exist_ok=True)
    adapter, adapter_tensors = {}, {}
    for i in range(LAYERS):
        for target in LORA_TARGETS:
            module = f"model.layers.{i}.self_attn.{target}"
            out = DIM if target == "q_proj" else KV_DIM
            a, b = torch.randn(LORA_R, DIM) * 0.3, torch.randn(out, LORA_R) * 0.3
            adapter[module] = (a, b)
            adapter_tensors[f"base_model.model.{module}.lora_A.weight"] = a
            adapter_tensors[f"base_model.model.{module}.lora_B.weight"] = b
    write_safetensors(os.path.join(lora_dir, "adapter_model.safetensors"), adapter_tensors, metadata={"format": "pt"})
    write_json(os.path.join(lora_dir, "adapter_config.json"), {
        "base_model_name_or_path": "gradlab-goldens/tiny-hf-llama", "bias": "none", "fan_in_fan_out": False,
        "inference_mode": True, "init_lora_weights": True, "layers_pattern": None, "layers_to_transform": None,
        "lora_alpha": LORA_ALPHA, "lora_dropout": LORA_DROPOUT, "modules_to_save": None, "peft_type": "LORA",
        "r": LORA_R, "rank_pattern": {}, "alpha_pattern": {}, "revision": None, "target_modules": LORA_TARGETS,
        "task_type": "CAUSAL_LM", "use_rslora": False, "use_dora": False,
    })

    tied_f32 = {k: v.float() for k, v in tied.items()}
    expected = {
        "tokens": tokens,
        "model.logits.f32": hf_forward(hf, tokens, torch.float32),
        "model.logits.f64": hf_forward(hf, tokens, torch.float64),
        "tied-bf16.logits.f32": hf_forward(tied_f32, tokens, torch.float32),
        "lora.logits.f32": hf_forward(hf, tokens, torch.float32, adapter),
        "lora.logits.f64": hf_forward(hf, tokens, torch.float64, adapter),
    }
    for i in range(LAYERS):
        for n in ("wq", "wk"):
            expected[f"meta.layers.{i}.attention.{n}.weight"] = meta[f"layers.{i}.attention.{n}.weight"]
    write_safetensors(os.path.join(OUT, "expected.safetensors"), expected, metadata={"writer": "make-hf-goldens.py"})
    lora_effect = (expected["lora.logits.f64"] - expected["model.logits.f64"]).abs().max().item()
    print(f"hf-llama: written to {os.path.normpath(OUT)} (adapter moves the logits by up to {lora_effect:.3f})")


if __name__ == "__main__":
    main()
