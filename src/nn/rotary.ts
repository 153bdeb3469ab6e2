// Rotary position tables, Meta's precompute_freqs_cis: for head dimension hd,
// frequency i is 1 / theta^(2i/hd), angle(t, i) = t * frequency_i for
// positions t in [0, 2 * maxSeqLen). Stored as cos and sin tables
// (positions, hd/2) in f32 (f64 for f64 models, so gradchecks stay exact).
// The f32 tables are computed with f32 rounding at each step like Meta's
// code (torch.arange(...).float() / dim, theta ** that, outer product in f32),
// so they agree with PyTorch's to an ulp rather than to the f32 rounding of
// an exact angle (which at position 1000 differs by ~1e-4 rad).

import { slice } from '../autograd/functional.js';
import { tensor } from '../tensor/creation.js';
import type { FloatDType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

export interface RotaryTables {
  /** (positions, headDim/2) */
  readonly cos: Tensor;
  readonly sin: Tensor;
}

/** Host values of the cos and sin tables, row-major (positions, headDim/2). */
export function rotaryTableValues(headDim: number, positions: number, theta: number, dtype: 'f32' | 'f64'): { cos: Float64Array; sin: Float64Array } {
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) throw new Error(`rotary: head dimension must be a positive even integer, got ${headDim}`);
  const half = headDim / 2;
  const round = dtype === 'f32' ? Math.fround : (v: number) => v;
  const freqs = Array.from({ length: half }, (_, i) => round(1 / round(theta ** round((2 * i) / headDim))));
  const cos = new Float64Array(positions * half);
  const sin = new Float64Array(positions * half);
  for (let t = 0; t < positions; t++) {
    for (let i = 0; i < half; i++) {
      const angle = round(t * freqs[i]);
      cos[t * half + i] = round(Math.cos(angle));
      sin[t * half + i] = round(Math.sin(angle));
    }
  }
  return { cos, sin };
}

/** Rotary tables for `positions` positions, kept until dispose(), with cached per-length views. */
export class RotaryEmbedding {
  readonly cos: Tensor;
  readonly sin: Tensor;
  readonly tableDType: 'f32' | 'f64';
  private readonly views = new Map<number, RotaryTables>();

  constructor(readonly headDim: number, readonly positions: number, activationDType: FloatDType, readonly theta = 10000) {
    if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) throw new Error(`RotaryEmbedding: headDim must be a positive even integer, got ${headDim}`);
    if (!Number.isInteger(positions) || positions < 0) throw new Error(`RotaryEmbedding: positions must be a non-negative integer, got ${positions}`);
    if (!(Number.isFinite(theta) && theta > 0)) throw new Error(`RotaryEmbedding: theta must be a finite number > 0 (Meta: 10000), got ${theta}`);
    this.tableDType = activationDType === 'f64' ? 'f64' : 'f32';
    const { cos, sin } = rotaryTableValues(headDim, positions, theta, this.tableDType);
    const shape = [positions, headDim / 2];
    const asTable = (v: Float64Array) => (this.tableDType === 'f64' ? tensor(v, shape) : tensor(Float32Array.from(v), shape)).keep();
    this.cos = asTable(cos);
    this.sin = asTable(sin);
  }

  /**
   * Tables for positions [0, seqLen) as views (no copy). They are kept, because
   * the rotary op's backward (and a checkpoint's recomputation) reads them long
   * after the forward's scope ended.
   */
  tablesFor(seqLen: number): RotaryTables {
    if (!Number.isInteger(seqLen) || seqLen < 1 || seqLen > this.positions) {
      throw new Error(`rotary: sequence length ${seqLen} is outside the ${this.positions} precomputed positions (2 x maxSeqLen)`);
    }
    let v = this.views.get(seqLen);
    if (!v) {
      v = { cos: slice(this.cos, 0, 0, seqLen).keep(), sin: slice(this.sin, 0, 0, seqLen).keep() };
      this.views.set(seqLen, v);
    }
    return v;
  }

  dispose(): void {
    for (const v of this.views.values()) { v.cos.dispose(); v.sin.dispose(); }
    this.views.clear();
    this.cos.dispose();
    this.sin.dispose();
  }
}
