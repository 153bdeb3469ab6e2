// Automatic mixed precision with PyTorch's autocast semantics (ATen's
// autocast_mode.cpp). Inside `autocast('f16', fn)`:
//   - matmul and linear run in f16: f32 inputs are cast to f16, the kernel
//     accumulates in f32 and writes f16;
//   - softmax, log-softmax, cross-entropy, RMSNorm, exp, log, pow, rsqrt and
//     sum/mean run in f32: f16 inputs are cast up;
//   - other ops run in their inputs' dtype, mixed elementwise inputs promote
//     to the widest (functional.ts already does that everywhere).
//
// Casts follow ATen's `cached_cast` rule exactly: only an f32 leaf that
// requires grad (a trainable weight, not a view) is cached, cast once per
// region and kept until the outermost region exits. Every other input, a
// frozen weight included, is cast anew at every use; the copy lives as long as
// something holds it, and matmul's tape node holds it whenever the other
// operand needs a gradient (every frozen linear under LoRA). A cast whose
// source is a parameter is ledgered as an "autocast weight copy" wherever it
// is held (cache or tape). Casts are differentiable ops, so f32 master
// weights receive f32 gradients.
//
// The region is part of the ambient state checkpoint() replays: a recomputed
// segment runs under the autocast state its forward ran under.

import type { DType, FloatDType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { applyOp } from './apply-op.js';
import { registerCheckpointState } from './checkpoint-state.js';
import { castOp } from './ops/neural.js';

/** The low-precision dtype of a region; PyTorch's CPU bf16 has no gradlab counterpart yet. */
export type AutocastDType = Extract<FloatDType, 'f16'>;

export interface AutocastOptions {
  /** false runs fn with autocast off (a nested `autocast(..., { enabled: false })` region). */
  enabled?: boolean;
  /** false disables the weight cache (every cast is per use), like torch's cache_enabled. */
  cacheEnabled?: boolean;
}

interface AutocastRegion {
  readonly enabled: boolean;
  readonly dtype: AutocastDType;
  readonly cacheEnabled: boolean;
}

const OFF: AutocastRegion = { enabled: false, dtype: 'f16', cacheEnabled: true };
let current: AutocastRegion = OFF;
/** Regions entered and not yet left (enabled or not), as torch's autocast nesting counter. */
let nesting = 0;
/** Cached casts of f32 leaves that require grad: leaf -> its f16 copy (a kept handle). */
const weightCache = new Map<Tensor, Tensor>();

function enterRegion(region: AutocastRegion): () => void {
  const previous = current;
  current = region;
  nesting++;
  return () => {
    current = previous;
    if (--nesting === 0) clearAutocastCache();
  };
}

/**
 * Runs fn (synchronously) with autocast on: matmuls in `dtype`, precision-
 * sensitive ops in f32. Nested regions share the weight cache, which is freed
 * when the outermost region exits.
 */
export function autocast<T>(dtype: AutocastDType, fn: () => T, options: AutocastOptions = {}): T {
  if (dtype !== 'f16') throw new Error(`autocast: dtype must be 'f16', got '${String(dtype)}'`);
  const exit = enterRegion({ enabled: options.enabled ?? true, dtype, cacheEnabled: options.cacheEnabled ?? true });
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new Error('autocast: fn returned a Promise; the region must be synchronous (await outside it, as the forward pass needs no waiting)');
    }
    return result;
  } finally {
    exit();
  }
}

export function isAutocastEnabled(): boolean {
  return current.enabled;
}

/** The region's low-precision dtype, or null outside autocast. */
export function autocastDType(): AutocastDType | null {
  return current.enabled ? current.dtype : null;
}

/** Number of cached weight copies alive now (a test and study hook). */
export function autocastCacheSize(): number {
  return weightCache.size;
}

/** Frees the cached weight copies (done automatically when the outermost region exits). */
export function clearAutocastCache(): void {
  for (const copy of weightCache.values()) copy.dispose();
  weightCache.clear();
}

/** A differentiable cast; a copy of a parameter is ledgered as an autocast weight copy. */
function castCopy(x: Tensor, dtype: DType): Tensor {
  const y = applyOp(castOp, [x], { dtype });
  if (x.storage.role === 'parameter') y.setStorageRole('autocastCopy');
  return y;
}

/** ATen's is_eligible: floating point, not f64 (f64 tensors are never autocast). */
function eligible(x: Tensor): boolean {
  return x.dtype === 'f32' || x.dtype === 'f16';
}

/** ATen's cached_cast to the low-precision dtype. */
function castToLow(x: Tensor, dtype: AutocastDType): Tensor {
  if (!eligible(x) || x.dtype === dtype) return x;
  const cacheable = current.cacheEnabled && x.dtype === 'f32' && x.requiresGrad && x.isLeaf && x.isDense;
  if (!cacheable) return castCopy(x, dtype);
  const hit = weightCache.get(x);
  if (hit && !hit.isDisposed) return hit;
  const copy = castCopy(x, dtype).keep();
  weightCache.set(x, copy);
  return copy;
}

/** Inputs of a low-precision op (matmul, linear) under autocast; unchanged outside it. */
export function autocastToLow(inputs: readonly Tensor[]): Tensor[] {
  if (!current.enabled) return [...inputs];
  return inputs.map((x) => castToLow(x, current.dtype));
}

/** Input of an op autocast runs in f32 (softmax, norms, losses, exp/log/pow, sums); unchanged outside it. */
export function autocastToF32(x: Tensor): Tensor {
  if (!current.enabled || x.dtype !== current.dtype) return x;
  return castCopy(x, 'f32');
}

registerCheckpointState({
  name: 'autocast',
  capture: () => current,
  enter: (state) => enterRegion(state as AutocastRegion),
});
