// Meta's LLaMA-2 Attention without a KV cache (training, start position 0):
// q, k, v projections, rotary on q and k (adjacent pairs), grouped-query
// attention where query head h reads kv head floor(h / nRep), scores
// q k^T / sqrt(headDim) with a causal mask, softmax in f32 (f64 for f64), and
// the wo projection.
//
// Grouped-query attention broadcasts each kv head over its nRep query heads
// inside the matmuls instead of materializing repeat_kv's copies: the values
// are the same as Meta's, and the tape saves k and v at nKvHeads size.

import { cast, causalMask, matmul, mul, permute, reshape, rotary, softmax } from '../autograd/functional.js';
import type { FloatDType } from '../tensor/dtype.js';
import { tidy } from '../tensor/scope.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParameterInit } from './init.js';
import { Linear, type LinearLayer } from './linear.js';
import { Module } from './module.js';
import type { RotaryEmbedding } from './rotary.js';

export interface AttentionConfig {
  dim: number;
  nHeads: number;
  nKvHeads: number;
  dtype?: FloatDType;
  init?: ParameterInit;
}

export class Attention extends Module {
  wq: LinearLayer;
  wk: LinearLayer;
  wv: LinearLayer;
  wo: LinearLayer;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly nRep: number;

  constructor(readonly config: AttentionConfig, private readonly rope: RotaryEmbedding) {
    super();
    const { dim, nHeads, nKvHeads } = config;
    if (dim % nHeads !== 0) throw new Error(`Attention: dim ${dim} is not divisible by nHeads ${nHeads}`);
    if (nHeads % nKvHeads !== 0) throw new Error(`Attention: nHeads ${nHeads} is not a multiple of nKvHeads ${nKvHeads}`);
    this.nHeads = nHeads;
    this.nKvHeads = nKvHeads;
    this.headDim = dim / nHeads;
    this.nRep = nHeads / nKvHeads;
    if (rope.headDim !== this.headDim) throw new Error(`Attention: rotary tables are for head dim ${rope.headDim}, heads have ${this.headDim}`);
    const opts = { dtype: config.dtype, init: config.init };
    this.wq = this.registerModule('wq', new Linear(dim, nHeads * this.headDim, opts));
    this.wk = this.registerModule('wk', new Linear(dim, nKvHeads * this.headDim, opts));
    this.wv = this.registerModule('wv', new Linear(dim, nKvHeads * this.headDim, opts));
    this.wo = this.registerModule('wo', new Linear(nHeads * this.headDim, dim, opts));
  }

  /** x (batch, seq, dim) -> (batch, seq, dim). */
  forward(x: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.config.dim) {
      throw new Error(`Attention(dim ${this.config.dim}): input must be (batch, seq, ${this.config.dim}), got ${formatShape(x.shape)} ${x.dtype}`);
    }
    if (x.shape[1] === 0) throw new Error(`Attention(dim ${this.config.dim}): the sequence is empty (input ${formatShape(x.shape)}); attention needs at least one position`);
    return this.runForward([x], () => {
      const [batch, seq] = x.shape;
      const { nHeads: H, nKvHeads: K, nRep: R, headDim: hd } = this;
      const { cos, sin } = this.rope.tablesFor(seq);
      const q = rotary(reshape(this.wq.forward(x), [batch, seq, H, hd]), cos, sin); // (B, S, H, hd)
      const k = rotary(reshape(this.wk.forward(x), [batch, seq, K, hd]), cos, sin); // (B, S, K, hd)
      const v = this.wv.forward(x); // (B, S, K*hd)
      // Query head h = kv * R + r: views (B, K, R, S, hd) against kv views broadcast over R.
      const qh = permute(reshape(q, [batch, seq, K, R, hd]), [0, 2, 3, 1, 4]);
      const kT = permute(reshape(k, [batch, seq, K, 1, hd]), [0, 2, 3, 4, 1]); // (B, K, 1, hd, S)
      const vh = permute(reshape(v, [batch, seq, K, 1, hd]), [0, 2, 3, 1, 4]); // (B, K, 1, S, hd)
      // Scores and their masked copies are temporaries: only the probabilities survive this scope.
      const probs = tidy(() => {
        const scores = causalMask(mul(matmul(qh, kT), 1 / Math.sqrt(hd))); // (B, K, R, S, S)
        if (scores.dtype !== 'f16') return softmax(scores);
        return cast(softmax(cast(scores, 'f32')), scores.dtype);
      });
      const out = matmul(probs, vh); // (B, K, R, S, hd)
      const merged = reshape(permute(out, [0, 3, 1, 2, 4]), [batch, seq, H * hd]);
      return this.wo.forward(merged);
    });
  }
}
