# Saved-for-backward bytes of one Meta LLaMA-2-7B block in PyTorch eager (batch 1, seq 512, f32), counted once
# per storage with saved_tensors_hooks, parameters excluded, each storage attributed to the autograd nodes that
# saved it. docs/memory-model.md compares the figures with gradlab's, op by op.
# Usage: python3 docs/memory-model-pytorch-block.py [none|lora0|lora05]   (full fine-tuning; LoRA wq,wv with dropout 0 / 0.05)
import math, sys, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0)
D, H, HD, FF, S = 4096, 32, 128, 11008, 512
LORA = sys.argv[1] if len(sys.argv) > 1 else 'none'   # none | lora0 | lora05
class RMSNorm(nn.Module):
    def __init__(s, d, eps=1e-5): super().__init__(); s.eps = eps; s.weight = nn.Parameter(torch.ones(d))
    def _norm(s, x): return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + s.eps)
    def forward(s, x): return s._norm(x.float()).type_as(x) * s.weight
class LoraLinear(nn.Linear):
    def __init__(s, i, o, r=16, alpha=32, p=0.0):
        super().__init__(i, o, bias=False); s.lora_A = nn.Parameter(torch.randn(r, i) * 0.01); s.lora_B = nn.Parameter(torch.zeros(o, r)); s.scaling = alpha / r
        s.drop = nn.Dropout(p) if p > 0 else (lambda x: x); s.weight.requires_grad = False
    def forward(s, x): return F.linear(x, s.weight) + (s.drop(x) @ s.lora_A.transpose(0, 1) @ s.lora_B.transpose(0, 1)) * s.scaling
def lin(i, o, name):
    if LORA != 'none' and name in ('wq', 'wv'): return LoraLinear(i, o, p=0.05 if LORA == 'lora05' else 0.0)
    return nn.Linear(i, o, bias=False)
def precompute_freqs_cis(dim, end, theta=10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim)); t = torch.arange(end)
    return torch.polar(torch.ones(end, dim // 2), torch.outer(t, freqs).float())
def apply_rotary_emb(xq, xk, fc):
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2)); xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    fc = fc.view(1, xq_.shape[1], 1, xq_.shape[-1])
    return torch.view_as_real(xq_ * fc).flatten(3).type_as(xq), torch.view_as_real(xk_ * fc).flatten(3).type_as(xk)
class Block(nn.Module):
    def __init__(s):
        super().__init__(); s.wq, s.wk, s.wv, s.wo = lin(D, D, 'wq'), lin(D, D, 'wk'), lin(D, D, 'wv'), lin(D, D, 'wo')
        s.w1, s.w2, s.w3 = lin(D, FF, 'w1'), lin(FF, D, 'w2'), lin(D, FF, 'w3'); s.attention_norm, s.ffn_norm = RMSNorm(D), RMSNorm(D)
    def attention(s, x, fc, mask):
        b, n, _ = x.shape
        xq, xk, xv = s.wq(x).view(b, n, H, HD), s.wk(x).view(b, n, H, HD), s.wv(x).view(b, n, H, HD)
        xq, xk = apply_rotary_emb(xq, xk, fc)
        xq, keys, values = xq.transpose(1, 2), xk.transpose(1, 2), xv.transpose(1, 2)
        scores = torch.matmul(xq, keys.transpose(2, 3)) / math.sqrt(HD) + mask
        scores = F.softmax(scores.float(), dim=-1).type_as(xq)
        out = torch.matmul(scores, values)
        return s.wo(out.transpose(1, 2).contiguous().view(b, n, -1))
    def forward(s, x, fc, mask):
        h = x + s.attention(s.attention_norm(x), fc, mask)
        hn = s.ffn_norm(h)
        return h + s.w2(F.silu(s.w1(hn)) * s.w3(hn))
blk = Block()
if LORA != 'none':
    for n_, p in blk.named_parameters(): p.requires_grad = 'lora_' in n_
params = {p.data_ptr() for p in blk.parameters()}
fc = precompute_freqs_cis(HD, 2 * 2048)[:S]
mask = torch.triu(torch.full((S, S), float('-inf')), diagonal=1)
x = torch.randn(1, S, D, requires_grad=True)
seen = {}
def pack(t):
    st = t.untyped_storage() if hasattr(t, 'untyped_storage') else t.storage()
    key = st.data_ptr()
    if key not in params and key not in seen: seen[key] = st.nbytes() if hasattr(st, 'nbytes') else st.size() * t.element_size()
    return t
with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
    out = blk(x, fc, mask)
print(LORA, 'total saved', sum(seen.values()), 'bytes', f'{sum(seen.values())/1e6:.1f} MB')
# attribution: walk the graph, list each node's saved tensors' storages (first node to save a storage gets it)
names = {}
def walk(fn, acc):
    stack = [fn]; visited = set()
    while stack:
        f = stack.pop()
        if f is None or f in visited: continue
        visited.add(f)
        for attr in dir(f):
            if attr.startswith('_saved_'):
                try: v = getattr(f, attr)
                except Exception: continue
                for t in (v if isinstance(v, (tuple, list)) else [v]):
                    if isinstance(t, torch.Tensor):
                        st = t.untyped_storage() if hasattr(t, 'untyped_storage') else t.storage()
                        k = st.data_ptr()
                        if k in params: continue
                        acc.setdefault(k, []).append(f'{type(f).__name__}.{attr[7:]} {tuple(t.shape)} {t.dtype}')
        for nf, _ in f.next_functions: stack.append(nf)
acc = {}
walk(out.grad_fn, acc)
for k, nb in sorted(seen.items(), key=lambda kv: -kv[1]):
    print(f'{nb/1e6:9.3f} MB', '; '.join(sorted(set(acc.get(k, ['?'])))))
