// Creating tensors: from host data (nested arrays or typed arrays), constant
// fills, ranges, and random draws from the global counter-based generator.

import type { DType } from './dtype.js';
import { allocHostArray } from './dtype.js';
import { f64ToF16Bits } from './f16.js';
import { fromHost, full as fullKernel, random } from './kernel-ops.js';
import { currentContext } from './runtime.js';
import { assertValidShape, formatShape, numel } from './shape.js';
import type { Tensor } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

type Nested = number | Nested[];

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let level: Nested = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] ?? 0;
    if (shape[shape.length - 1] === 0) break;
  }
  return shape;
}

function flatten(data: Nested, shape: readonly number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (typeof data !== 'number') throw new Error(`tensor: ragged nested array; expected a number at depth ${depth} for shape ${formatShape(shape)}`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new Error(`tensor: ragged nested array; expected ${shape[depth]} entries at depth ${depth} for shape ${formatShape(shape)}`);
  }
  for (const d of data) flatten(d, shape, depth + 1, out);
}

function finish(t: Tensor, opts: CreateOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Encodes numbers into the host layout of a dtype (f16 as bit patterns, rounded to nearest even). */
export function hostArrayFrom(values: ArrayLike<number>, dtype: DType) {
  const out = allocHostArray(dtype, values.length);
  if (dtype === 'f16') for (let i = 0; i < values.length; i++) out[i] = f64ToF16Bits(values[i]);
  else if (dtype === 'i32') {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isInteger(values[i])) throw new Error(`tensor: value ${values[i]} at index ${i} is not an integer, as dtype i32 needs`);
      out[i] = values[i];
    }
  } else out.set(values as ArrayLike<number>);
  return out;
}

/**
 * A tensor from a number, nested arrays, or a typed array plus shape. Default
 * dtype: f32 for JS numbers, the array's own for typed arrays (Uint16Array is
 * taken as f16 bit patterns).
 */
export function tensor(data: Nested | Float64Array | Float32Array | Int32Array | Uint16Array, shapeOrOpts?: readonly number[] | CreateOptions, maybeOpts: CreateOptions = {}): Tensor {
  const opts = Array.isArray(shapeOrOpts) ? maybeOpts : ((shapeOrOpts as CreateOptions | undefined) ?? {});
  const ctx = currentContext();
  if (ArrayBuffer.isView(data)) {
    const shape = Array.isArray(shapeOrOpts) ? (shapeOrOpts as number[]) : [data.length];
    assertValidShape(shape, 'tensor');
    const own: DType = data instanceof Float64Array ? 'f64' : data instanceof Float32Array ? 'f32' : data instanceof Int32Array ? 'i32' : 'f16';
    const dtype = opts.dtype ?? own;
    const host = dtype === own ? data : hostArrayFrom(own === 'f16' ? Array.from(data as Uint16Array) : (data as ArrayLike<number>), dtype);
    if (own === 'f16' && dtype !== 'f16') throw new Error(`tensor: a Uint16Array holds f16 bit patterns; pass dtype 'f16' (then cast) instead of ${dtype}`);
    return finish(fromHost(host, shape, dtype, ctx), opts);
  }
  const shape = Array.isArray(shapeOrOpts) ? (shapeOrOpts as number[]) : inferShape(data);
  const flat: number[] = [];
  if (Array.isArray(shapeOrOpts)) {
    const flatAll = (d: Nested): void => { if (Array.isArray(d)) d.forEach(flatAll); else flat.push(d); };
    flatAll(data);
    if (flat.length !== numel(shape)) throw new Error(`tensor: ${flat.length} values do not fill shape ${formatShape(shape)}`);
  } else {
    flatten(data, shape, 0, flat);
  }
  const dtype = opts.dtype ?? 'f32';
  return finish(fromHost(hostArrayFrom(flat, dtype), shape, dtype, ctx), opts);
}

export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  assertValidShape(shape, 'full');
  return finish(fullKernel(shape, value, opts.dtype ?? 'f32'), opts);
}

export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** start, start+step, ... below end (like torch.arange). */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  const [from, to] = end === undefined ? [0, start] : [start, end];
  if (step === 0) throw new Error('arange: step must not be 0');
  const count = Math.max(0, Math.ceil((to - from) / step));
  const values = Array.from({ length: count }, (_, i) => from + i * step);
  const dtype = opts.dtype ?? (values.every(Number.isInteger) && Number.isInteger(step) ? 'i32' : 'f32');
  return finish(fromHost(hostArrayFrom(values, dtype), [count], dtype), opts);
}

/** Standard normal draws (mean 0, std 1 unless given), from the global generator. */
export function randn(shape: readonly number[], opts: CreateOptions & { mean?: number; std?: number } = {}): Tensor {
  assertValidShape(shape, 'randn');
  return finish(random(shape, opts.dtype ?? 'f32', 'normal', opts.mean ?? 0, opts.std ?? 1), opts);
}

/** Uniform draws in [low, high) (default [0, 1)), from the global generator. */
export function rand(shape: readonly number[], opts: CreateOptions & { low?: number; high?: number } = {}): Tensor {
  assertValidShape(shape, 'rand');
  return finish(random(shape, opts.dtype ?? 'f32', 'uniform', opts.low ?? 0, opts.high ?? 1), opts);
}
