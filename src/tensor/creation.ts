// Creating tensors: from host data (nested arrays or typed arrays), constant
// fills, ranges, and random draws from the global counter-based generator.

import type { DType } from './dtype.js';
import { allocHostArray } from './dtype.js';
import { f64ToF16Bits } from './f16.js';
import { fromHost, full as fullKernel, random } from './kernel-ops.js';
import { assertFitsOneBuffer } from './device-context.js';
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

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

/** An i32 value must be an integer in [-2^31, 2^31 - 1]; storing anything else would wrap silently (2^31 -> -2^31). */
function assertI32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < I32_MIN || value > I32_MAX) {
    throw new RangeError(`${what} is ${value}, not an integer in [${I32_MIN}, ${I32_MAX}] as dtype i32 needs`);
  }
}

/** Encodes numbers into the host layout of a dtype (f16 as bit patterns, rounded to nearest even). */
export function hostArrayFrom(values: ArrayLike<number>, dtype: DType) {
  const out = allocHostArray(dtype, values.length);
  if (dtype === 'f16') for (let i = 0; i < values.length; i++) out[i] = f64ToF16Bits(values[i]);
  else if (dtype === 'i32') {
    for (let i = 0; i < values.length; i++) assertI32(values[i], `tensor: value at index ${i}`);
    out.set(values as ArrayLike<number>);
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

/** Shape validity and the backend's buffer limit, checked before anything is allocated or drawn. */
function assertCreatable(op: string, shape: readonly number[], dtype: DType): void {
  assertValidShape(shape, op);
  assertFitsOneBuffer(currentContext().backend, dtype, numel(shape), op, shape);
}

function filled(op: string, shape: readonly number[], value: number, opts: CreateOptions): Tensor {
  const dtype = opts.dtype ?? 'f32';
  assertCreatable(op, shape, dtype);
  if (dtype === 'i32') assertI32(value, `${op}: the fill value`);
  return finish(fullKernel(shape, value, dtype), opts);
}

export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  return filled('full', shape, value, opts);
}

export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return filled('zeros', shape, 0, opts);
}

export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return filled('ones', shape, 1, opts);
}

/** start, start+step, ... below end (like torch.arange). */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  const [from, to] = end === undefined ? [0, start] : [start, end];
  if (![from, to, step].every(Number.isFinite)) throw new Error(`arange: start, end and step must be finite numbers, got ${from}, ${to}, ${step}`);
  if (step === 0) throw new Error('arange: step must not be 0');
  const count = Math.max(0, Math.ceil((to - from) / step));
  // Checked before the values are listed on the host (f32 is the smaller of the two dtypes arange picks).
  assertFitsOneBuffer(currentContext().backend, opts.dtype ?? 'f32', count, 'arange', [count]);
  const values = Array.from({ length: count }, (_, i) => from + i * step);
  const dtype = opts.dtype ?? (values.every(Number.isInteger) && Number.isInteger(step) ? 'i32' : 'f32');
  return finish(fromHost(hostArrayFrom(values, dtype), [count], dtype), opts);
}

/** Standard normal draws (mean 0, std 1 unless given), from the global generator. */
export function randn(shape: readonly number[], opts: CreateOptions & { mean?: number; std?: number } = {}): Tensor {
  const { mean = 0, std = 1 } = opts;
  if (!Number.isFinite(mean)) throw new Error(`randn: mean must be a finite number, got ${mean}`);
  if (!Number.isFinite(std) || std < 0) throw new Error(`randn: std must be a finite number >= 0 (as torch.normal requires), got ${std}`);
  assertCreatable('randn', shape, opts.dtype ?? 'f32');
  return finish(random(shape, opts.dtype ?? 'f32', 'normal', mean, std), opts);
}

/** Uniform draws in [low, high) (default [0, 1)), from the global generator. */
export function rand(shape: readonly number[], opts: CreateOptions & { low?: number; high?: number } = {}): Tensor {
  const { low = 0, high = 1 } = opts;
  if (!Number.isFinite(low) || !Number.isFinite(high) || low > high) {
    throw new Error(`rand: the range [low, high) must be finite with low <= high, got low ${low}, high ${high}`);
  }
  assertCreatable('rand', shape, opts.dtype ?? 'f32');
  return finish(random(shape, opts.dtype ?? 'f32', 'uniform', low, high), opts);
}
