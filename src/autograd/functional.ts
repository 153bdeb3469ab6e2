// The public differentiable functions. Each applies one registered op (or a
// short composition of them), handling dtype promotion, scalars and axes.

import type { DType } from '../tensor/dtype.js';
import { isFloatDType, promoteDTypes } from '../tensor/dtype.js';
import { normalizeAxis, resolveReductionAxes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { applyOp } from './apply-op.js';
import { noGrad } from './grad-mode.js';
import { autocastToF32, autocastToLow } from './autocast.js';
import * as ew from './ops/elementwise.js';
import { matmulOp } from './ops/matmul.js';
import * as nn from './ops/neural.js';
import { maxOp, sumOp } from './ops/reductions.js';
import * as views from './ops/views.js';

export type Operand = Tensor | number;

/** x converted to dtype; x itself when it already has it (like torch's .to). */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  // An integer result carries no gradient (as in PyTorch), so a cast to it is not recorded.
  if (!isFloatDType(dtype)) return noGrad(() => applyOp(nn.castOp, [x], { dtype }));
  return applyOp(nn.castOp, [x], { dtype });
}

/** Brings two tensors to their promoted dtype (PyTorch's rules), casting through the tape. */
function promoted(a: Tensor, b: Tensor): [Tensor, Tensor] {
  if (a.dtype === b.dtype) return [a, b];
  const dtype = promoteDTypes(a.dtype, b.dtype);
  return [a.dtype === dtype ? a : cast(a, dtype), b.dtype === dtype ? b : cast(b, dtype)];
}

function floatOperand(op: string, x: Tensor): void {
  if (!isFloatDType(x.dtype)) throw new Error(`${op}: expected a float tensor, got ${x.describe()} (cast it first)`);
}

export function add(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') return applyOp(ew.addScalarOp, [a], { value: b });
  return applyOp(ew.addOp, promoted(a, b), undefined);
}

export function sub(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') return applyOp(ew.addScalarOp, [a], { value: -b });
  return applyOp(ew.subOp, promoted(a, b), undefined);
}

export function mul(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') return applyOp(ew.mulScalarOp, [a], { value: b });
  return applyOp(ew.mulOp, promoted(a, b), undefined);
}

/** a / b; a scalar divisor multiplies by its reciprocal. */
export function div(a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') return applyOp(ew.mulScalarOp, [a], { value: 1 / b });
  return applyOp(ew.divOp, promoted(a, b), undefined);
}

export const neg = (x: Tensor) => applyOp(ew.negOp, [x], undefined);
// exp, log, rsqrt, pow, sums, softmax, norms and losses run in f32 under autocast (autocastToF32).
export const exp = (x: Tensor) => applyOp(ew.expOp, [autocastToF32(x)], undefined);
export const log = (x: Tensor) => applyOp(ew.logOp, [autocastToF32(x)], undefined);
export const sqrt = (x: Tensor) => applyOp(ew.sqrtOp, [x], undefined);
export const rsqrt = (x: Tensor) => applyOp(ew.rsqrtOp, [autocastToF32(x)], undefined);
export const sigmoid = (x: Tensor) => applyOp(ew.sigmoidOp, [x], undefined);
export const silu = (x: Tensor) => applyOp(ew.siluOp, [x], undefined);
export const relu = (x: Tensor) => applyOp(ew.reluOp, [x], undefined);
export const pow = (x: Tensor, exponent: number) => applyOp(ew.powScalarOp, [autocastToF32(x)], { exponent });

const allAxes = (x: Tensor) => [...Array(x.rank).keys()];

/** Sum over `axes` (all by default). */
export function sum(x: Tensor, axes?: number | readonly number[], keepDim = false): Tensor {
  floatOperand('sum', x);
  const list = axes === undefined ? allAxes(x) : typeof axes === 'number' ? [axes] : axes;
  return applyOp(sumOp, [autocastToF32(x)], { axes: list, keepDim });
}

/** Mean over `axes` (all by default). */
export function mean(x: Tensor, axes?: number | readonly number[], keepDim = false): Tensor {
  const list = axes === undefined ? allAxes(x) : typeof axes === 'number' ? [axes] : axes;
  const count = resolveReductionAxes(list, x.rank, 'mean').reduce((n, a) => n * x.shape[a], 1);
  return mul(sum(x, list, keepDim), 1 / count);
}

/** Max over `axes` (all by default); the gradient is shared among ties, like torch.amax. */
export function max(x: Tensor, axes?: number | readonly number[], keepDim = false): Tensor {
  floatOperand('max', x);
  const list = axes === undefined ? allAxes(x) : typeof axes === 'number' ? [axes] : axes;
  return applyOp(maxOp, [x], { axes: list, keepDim });
}

/** a @ b; under autocast both operands are cast to the region's dtype first. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const [a2, b2] = autocastToLow([a, b]);
  return applyOp(matmulOp, promoted(a2, b2), undefined);
}

/**
 * x @ w^T for a weight stored (out, in), as in torch.nn.Linear. Under autocast
 * the weight itself (not its transposed view) is cast, so a trainable leaf
 * weight hits the region's cast cache as in PyTorch.
 */
export function linear(x: Tensor, weight: Tensor): Tensor {
  const [x2, w2] = autocastToLow([x, weight]);
  return matmul(x2, transpose(w2, -1, -2));
}

export const reshape = (x: Tensor, shape: readonly number[]) => applyOp(views.reshapeOp, [x], { shape });
export const permute = (x: Tensor, perm: readonly number[]) => applyOp(views.permuteOp, [x], { perm });
/** A dense copy, or x itself when already contiguous. */
export const contiguous = (x: Tensor) => (x.isContiguous ? x : applyOp(views.contiguousOp, [x], undefined));
export const expand = (x: Tensor, shape: readonly number[]) => applyOp(views.expandOp, [x], { shape });

export function transpose(x: Tensor, a: number, b: number): Tensor {
  const perm = allAxes(x);
  const i = normalizeAxis(a, x.rank, 'transpose');
  const j = normalizeAxis(b, x.rank, 'transpose');
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return permute(x, perm);
}

/** x[start:end:step] along `axis`, as a view. */
export function slice(x: Tensor, axis: number, start: number, end = Infinity, step = 1): Tensor {
  return applyOp(views.sliceOp, [x], { axis, start, end: end === Infinity ? x.shape[normalizeAxis(axis, x.rank, 'slice')] : end, step });
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  if (a < 0 || a > x.rank) throw new Error(`unsqueeze: axis ${axis} out of range for ${x.describe()}`);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function squeeze(x: Tensor, axis: number): Tensor {
  const a = normalizeAxis(axis, x.rank, 'squeeze');
  if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${axis} of ${x.describe()} has size ${x.shape[a]}, not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

export function flatten(x: Tensor): Tensor {
  return reshape(x, [x.numel]);
}

export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  return applyOp(views.concatOp, tensors, { axis });
}

/** Applies f over the last axis after moving `axis` there (as views). */
function alongLastAxis(x: Tensor, axis: number, f: (t: Tensor) => Tensor): Tensor {
  const a = normalizeAxis(axis, x.rank, 'softmax');
  if (a === x.rank - 1) return f(x);
  return transpose(f(transpose(x, a, -1)), a, -1);
}

export const softmax = (x: Tensor, axis = -1) => alongLastAxis(autocastToF32(x), axis, (t) => applyOp(nn.softmaxOp, [t], undefined));
export const logSoftmax = (x: Tensor, axis = -1) => alongLastAxis(autocastToF32(x), axis, (t) => applyOp(nn.logSoftmaxOp, [t], undefined));

/** Meta's RMSNorm over the last axis: x * rsqrt(mean(x^2) + eps), rounded to x's dtype, times weight. */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  const [xp, wp] = promoted(autocastToF32(x), autocastToF32(weight));
  return applyOp(nn.rmsNormOp, [xp, wp], { eps });
}

/**
 * Rotary embedding of x (batch, seq, heads, headDim), adjacent pairs, angle tables (seq, headDim/2)
 * in f32 (f64 for f64 x). The tables are constants held by reference until backward: keep them alive.
 */
export function rotary(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  return applyOp(nn.rotaryOp, [x], { cos, sin });
}

/** -inf strictly above the (bottom-right aligned) diagonal of the last two axes. */
export const causalMask = (x: Tensor) => applyOp(nn.causalMaskOp, [x], undefined);

/** silu(a) * b in one kernel (LLaMA's SwiGLU gate). */
export function siluMul(a: Tensor, b: Tensor): Tensor {
  return applyOp(nn.siluMulOp, promoted(a, b), undefined);
}

/** Inverted dropout; returns x itself when p is 0 or not training. */
export function dropout(x: Tensor, p: number, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  return applyOp(nn.dropoutOp, [x], { p });
}

/** Rows of weight (V, D) picked by i32 indices. */
export function embedding(weight: Tensor, indices: Tensor): Tensor {
  if (indices.dtype !== 'i32') throw new Error(`embedding: indices must be i32, got ${indices.describe()}`);
  return applyOp(nn.embeddingOp, [weight, indices], undefined);
}

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  reduction?: nn.CrossEntropyReduction;
}

/** Cross-entropy of logits (..., V) against i32 labels (...), PyTorch's semantics (ignore index -100, mean). */
export function crossEntropy(logits: Tensor, labels: Tensor, options: CrossEntropyOptions = {}): Tensor {
  if (labels.dtype !== 'i32') throw new Error(`crossEntropy: labels must be i32, got ${labels.describe()}`);
  floatOperand('crossEntropy', logits);
  return applyOp(nn.crossEntropyOp, [autocastToF32(logits), labels], { ignoreIndex: options.ignoreIndex ?? -100, reduction: options.reduction ?? 'mean' });
}
