// The bytes a TransformerBlock's forward leaves on the tape (saved
// activations), derived by hand from what each op saves:
//   rmsNorm   saves x and rstd (f32 per row; f64 for f64)  [and w: a parameter, not counted]
//   matmul    saves a if b needs grad, b if a needs grad     (x @ W^T: x if W trains; W is a parameter)
//   rotary, causalMask, reshape/permute, add, mul-by-scalar, cast: nothing
//   softmax   saves its output
//   siluMul   saves both inputs
//   dropout   saves nothing (the mask is redrawn from its Philox key)
// An op records (and saves) only when one of its inputs requires grad. Bytes
// are counted per storage: a tensor saved by several ops counts once (xn is
// saved by wq, wk and wv). Parameters are ledgered as parameters, never here.
//
// The block's op sequence (N = batch*seq tokens, s = bytes per element):
//   xn = rmsNorm(x)                                      saves x (N*dim*s), rstd (N*stat)
//   q, k, v = xn W^T  (+ LoRA: ((dropout(xn) A^T) B^T) * alpha/r)
//   q, k = rotary(q), rotary(k)                          new storages, nothing saved
//   scores = q k^T / sqrt(hd), causal mask, P = softmax  P saved (B*H*S*S*s; f16 runs softmax in f32)
//   o = P v, o copied to (B, S, dim)                     P, v saved; o copy saved by wo
//   h = x + wo(o)
//   hn = rmsNorm(h)                                      saves h, rstd
//   a1, a3 = hn W1^T, hn W3^T; g = silu(a1) * a3         a1, a3 saved; g saved by w2
//   out = h + w2(g)

import type { FloatDType } from '../tensor/dtype.js';

export const PROJECTIONS = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const;
export type ProjectionName = (typeof PROJECTIONS)[number];

export interface BlockActivationSpec {
  batch: number;
  seq: number;
  dim: number;
  nHeads: number;
  nKvHeads: number;
  hiddenDim: number;
  dtype: FloatDType;
  /** Does the block input require grad? (false for layer 0 when the embedding is frozen) */
  inputRequiresGrad: boolean;
  /** Are the block's base weights and norm weights trainable (full fine-tuning) or all frozen? */
  baseTrainable: boolean;
  /** LoRA adapters (trainable A and B) in training mode. */
  lora?: { r: number; targets: readonly ProjectionName[]; dropout: number };
}

export interface SavedTensorTerm {
  /** What the storage is (x, xn, q_rot, P, ...). */
  readonly tensor: string;
  readonly bytes: number;
}

export interface BlockActivationBytes {
  /** Storages saved by the attention half (x + attention(attention_norm(x))). */
  readonly attention: SavedTensorTerm[];
  /** Storages saved by the FFN half (h + feed_forward(ffn_norm(h))). */
  readonly feedForward: SavedTensorTerm[];
  readonly attentionBytes: number;
  readonly feedForwardBytes: number;
  /** attentionBytes + feedForwardBytes: the block's saved activations without checkpointing. */
  readonly totalBytes: number;
}

const ELEMENT_BYTES: Record<FloatDType, number> = { f64: 8, f32: 4, f16: 2 };

/** Saved-activation bytes of one TransformerBlock forward (no checkpointing), term by term. */
export function blockSavedActivationBytes(spec: BlockActivationSpec): BlockActivationBytes {
  const { batch: B, seq: S, dim: D, nHeads: H, nKvHeads: K, hiddenDim: F } = spec;
  const s = ELEMENT_BYTES[spec.dtype];
  const stat = spec.dtype === 'f64' ? 8 : 4; // bytes per rstd row: f32, f64 for f64
  const N = B * S;
  const kvDim = (D / H) * K;
  const base = spec.baseTrainable;
  const lora = spec.lora;
  const hasLora = (p: ProjectionName) => !!lora && lora.targets.includes(p);

  // One segment's saved storages: label -> bytes (a Map, so a storage counts once).
  const segment = () => {
    const saved = new Map<string, number>();
    const save = (label: string, bytes: number) => saved.set(label, bytes);
    /**
     * A projection of `input` (label, features, requiresGrad): the base matmul
     * saves the input if W trains; LoRA saves dropout(input) (a new storage
     * when dropout > 0, else the input itself) for A, and the rank-r product for B.
     * Returns whether the output requires grad.
     */
    const project = (p: ProjectionName, input: string, inFeatures: number, inputRg: boolean): boolean => {
      if (base) save(input, N * inFeatures * s);
      if (hasLora(p)) {
        if (lora!.dropout > 0) save(`dropout(${input}) of ${p}`, N * inFeatures * s);
        else save(input, N * inFeatures * s);
        save(`${p} lora rank-r product`, N * lora!.r * s);
      }
      return inputRg || base || hasLora(p);
    };
    return { saved, save, project };
  };

  // Attention half.
  const attn = segment();
  const xRg = spec.inputRequiresGrad;
  if (xRg || base) { attn.save('x (attention_norm input)', N * D * s); attn.save('attention_norm rstd', N * stat); }
  const xnRg = xRg || base;
  const qRg = attn.project('wq', 'xn', D, xnRg);
  const kRg = attn.project('wk', 'xn', D, xnRg);
  const vRg = attn.project('wv', 'xn', D, xnRg);
  // scores = q k^T: the matmul keeps k for q's gradient and q for k's.
  if (qRg) attn.save('k after rotary', N * kvDim * s);
  if (kRg) attn.save('q after rotary', N * D * s);
  const scoresRg = qRg || kRg;
  const probsBytes = B * H * S * S;
  if (spec.dtype === 'f16') {
    // softmax runs in f32 (saving its f32 output); P @ v keeps the f16 cast of it.
    if (scoresRg) attn.save('softmax output (f32)', probsBytes * 4);
    if (vRg) attn.save('probabilities cast to f16', probsBytes * s);
  } else if (scoresRg || vRg) {
    // softmax keeps P when the scores need grad; P @ v keeps P when v needs grad: one storage either way.
    attn.save('probabilities P', probsBytes * s);
  }
  if (scoresRg) attn.save('v', N * kvDim * s); // P @ v keeps v for P's gradient
  const outRg = scoresRg || vRg;
  const woRg = attn.project('wo', 'attention output (B, S, dim) copy', D, outRg);

  // FFN half.
  const ffn = segment();
  const hRg = xRg || woRg;
  if (hRg || base) { ffn.save('h (ffn_norm input)', N * D * s); ffn.save('ffn_norm rstd', N * stat); }
  const hnRg = hRg || base;
  const a1Rg = ffn.project('w1', 'hn', D, hnRg);
  const a3Rg = ffn.project('w3', 'hn', D, hnRg);
  if (a1Rg || a3Rg) { ffn.save('a1 = w1(hn)', N * F * s); ffn.save('a3 = w3(hn)', N * F * s); }
  ffn.project('w2', 'g = silu(a1) * a3', F, a1Rg || a3Rg);

  const terms = (m: Map<string, number>) => [...m.entries()].map(([tensor, bytes]) => ({ tensor, bytes }));
  const sumOf = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const attentionBytes = sumOf(attn.saved);
  const feedForwardBytes = sumOf(ffn.saved);
  return {
    attention: terms(attn.saved),
    feedForward: terms(ffn.saved),
    attentionBytes,
    feedForwardBytes,
    totalBytes: attentionBytes + feedForwardBytes,
  };
}

/**
 * With full fine-tuning (everything trainable) and no LoRA the terms collapse to
 *   s * N * (6*dim + 2*kvDim + 3*hidden) + s * batch * nHeads * seq^2 + 2 * N * stat
 * (x, xn, q, o, h, hn; k, v; a1, a3, g; P; two rstd rows), for f32 and f64 (f16 adds
 * the f32 softmax output: 4 * batch * nHeads * seq^2 more).
 */
export function fullFinetuneBlockBytes(spec: Omit<BlockActivationSpec, 'inputRequiresGrad' | 'baseTrainable' | 'lora'>): number {
  const { batch: B, seq: S, dim: D, nHeads: H, nKvHeads: K, hiddenDim: F } = spec;
  const s = ELEMENT_BYTES[spec.dtype];
  const stat = spec.dtype === 'f64' ? 8 : 4;
  const N = B * S;
  const kvDim = (D / H) * K;
  const f16Softmax = spec.dtype === 'f16' ? 4 * B * H * S * S : 0;
  return s * N * (6 * D + 2 * kvDim + 3 * F) + s * B * H * S * S + f16Softmax + 2 * N * stat;
}

/**
 * What a checkpointed block keeps through the forward: 'block' keeps its
 * input x; 'two-segments' keeps x and h (each segment's input). During the
 * backward, one segment at a time is recomputed on top of that.
 */
export function checkpointedBlockBytes(spec: Pick<BlockActivationSpec, 'batch' | 'seq' | 'dim' | 'dtype'>, mode: 'block' | 'two-segments'): number {
  const x = spec.batch * spec.seq * spec.dim * ELEMENT_BYTES[spec.dtype];
  return mode === 'block' ? x : 2 * x;
}
