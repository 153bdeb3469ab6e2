// Tensor operations backed by the core kernels, without autograd: each one
// checks its inputs, allocates its output through the ledger, and runs one
// kernel through the device context (which counts the work). The autograd
// layer builds every differentiable op from these.

import type { BinaryOp, MatmulOperand, RandomDistribution, ReduceOp, UnaryOp } from '../backends/backend.js';
import type { DeviceContext } from './device-context.js';
import type { DType } from './dtype.js';
import { isFloatDType } from './dtype.js';
import { takeRandomWords } from './generator.js';
import { noteKernelOp } from './memory-context.js';
import { currentContext } from './runtime.js';
import { broadcastShapes, broadcastStrides, formatShape, normalizeAxis, numel, shapesEqual } from './shape.js';
import { Tensor } from './tensor.js';

/** All inputs must be alive and on one backend; returns that backend's context. */
export function sameContext(op: string, ...tensors: Tensor[]): DeviceContext {
  noteKernelOp(op); // a recording memory timeline names allocations made outside any autograd op by this
  for (const t of tensors) t.assertAlive(op);
  const ctx = tensors[0]?.context ?? currentContext();
  for (const t of tensors) {
    if (t.context !== ctx) throw new Error(`${op}: tensors live on different backends ('${ctx.name}' and '${t.context.name}'); move them first`);
  }
  return ctx;
}

export function assertSameDType(op: string, ...tensors: Tensor[]): DType {
  const dtype = tensors[0].dtype;
  for (const t of tensors) {
    if (t.dtype !== dtype) throw new Error(`${op}: dtype mismatch: ${tensors.map((x) => x.describe()).join(' vs ')}`);
  }
  return dtype;
}

function assertFloat(op: string, t: Tensor): void {
  if (!isFloatDType(t.dtype)) throw new Error(`${op}: expected a float tensor, got ${t.describe()}`);
}

export function emptyTensor(ctx: DeviceContext, shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(ctx.allocStorage(dtype, numel(shape)), shape);
}

export function full(shape: readonly number[], value: number, dtype: DType, ctx = currentContext()): Tensor {
  noteKernelOp('fill');
  const t = emptyTensor(ctx, shape, dtype);
  if (t.numel > 0) ctx.kernels.fill(t.storage.buffer, value);
  return t;
}

/** A dense copy (also when x is already contiguous; callers that can share use x itself). */
export function contiguousCopy(x: Tensor): Tensor {
  const ctx = sameContext('contiguous', x);
  const out = emptyTensor(ctx, x.shape, x.dtype);
  copyIntoView(x, out);
  return out;
}

/** Writes src into the (possibly strided) view dst, in place; shapes and dtypes must match. */
export function copyIntoView(src: Tensor, dst: Tensor): void {
  const ctx = sameContext('copy', src, dst);
  if (!shapesEqual(src.shape, dst.shape)) throw new Error(`copy: source ${src.describe()} and destination ${dst.describe()} differ in shape`);
  assertSameDType('copy', src, dst);
  if (src.numel === 0) return;
  ctx.run('copy', { shape: src.shape }, src.dtype, (k) =>
    k.copy(src.shape, src.stridedInput(), dst.storage.buffer, { offset: dst.offset, strides: dst.strides }));
  dst.storage.version++;
}

export function unary(op: UnaryOp, x: Tensor, scalar = 0): Tensor {
  const ctx = sameContext(op, x);
  assertFloat(op, x);
  const out = emptyTensor(ctx, x.shape, x.dtype);
  if (out.numel > 0) ctx.run(`unary.${op}`, { shape: x.shape }, x.dtype, (k) => k.unary(op, x.shape, x.stridedInput(), out.storage.buffer, scalar));
  return out;
}

export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const ctx = sameContext(op, a, b);
  assertFloat(op, a);
  assertSameDType(op, a, b);
  const shape = broadcastShapes(a.shape, b.shape, op);
  const out = emptyTensor(ctx, shape, a.dtype);
  if (out.numel === 0) return out;
  const aIn = { ...a.stridedInput(), strides: broadcastStrides(a.shape, a.strides, shape, op) };
  const bIn = { ...b.stridedInput(), strides: broadcastStrides(b.shape, b.strides, shape, op) };
  ctx.run(`binary.${op}`, { shape }, a.dtype, (k) => k.binary(op, shape, aIn, bIn, out.storage.buffer));
  return out;
}

/** Reduces one axis; keepDim keeps it as size 1. */
export function reduce(op: ReduceOp, x: Tensor, axis: number, keepDim: boolean): Tensor {
  const name = `reduce-${op}`;
  const ctx = sameContext(name, x);
  assertFloat(name, x);
  const a = normalizeAxis(axis, x.rank, name);
  const outShape = keepDim ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  const out = emptyTensor(ctx, outShape, x.dtype);
  if (out.numel === 0) return out;
  if (x.shape[a] === 0) {
    ctx.kernels.fill(out.storage.buffer, op === 'sum' ? 0 : -Infinity);
    return out;
  }
  ctx.run(`reduce.${op}`, { shape: x.shape, axis: a }, x.dtype, (k) => k.reduce(op, x.shape, x.stridedInput(), a, out.storage.buffer));
  return out;
}

export function cast(x: Tensor, dtype: DType): Tensor {
  const ctx = sameContext('cast', x);
  const out = emptyTensor(ctx, x.shape, dtype);
  if (out.numel > 0) ctx.run('cast', { shape: x.shape, to: dtype }, x.dtype, (k) => k.cast(x.shape, x.stridedInput(), out.storage.buffer));
  return out;
}

/** Batch layout of an operand as one stride, or null when its batch axes don't collapse. */
function collapsedBatchStride(shape: readonly number[], strides: readonly number[]): number | null {
  const dims: [number, number][] = [];
  shape.forEach((d, i) => { if (d !== 1) dims.push([d, strides[i]]); });
  if (dims.length === 0) return 0;
  if (dims.every(([, s]) => s === 0)) return 0;
  for (let i = 0; i < dims.length - 1; i++) {
    if (dims[i][1] !== dims[i + 1][1] * dims[i + 1][0]) return null;
  }
  return dims[dims.length - 1][1];
}

/** Describes the trailing (rows, cols) matrix of t without copying, or null if it is not dense either way. */
function matrixLayout(t: Tensor, rows: number, cols: number): { transposed: boolean } | null {
  const rs = t.strides[t.rank - 2];
  const cs = t.strides[t.rank - 1];
  if ((cs === 1 || cols === 1) && (rs === cols || rows === 1)) return { transposed: false };
  if ((rs === 1 || rows === 1) && (cs === rows || cols === 1)) return { transposed: true };
  return null;
}

/** out (..., m, n) = a (..., m, k) @ b (..., k, n), batch axes broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const ctx = sameContext('matmul', a, b);
  assertFloat('matmul', a);
  assertSameDType('matmul', a, b);
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: both operands need rank >= 2, got ${a.describe()} and ${b.describe()}`);
  const m = a.shape[a.rank - 2];
  const k = a.shape[a.rank - 1];
  const n = b.shape[b.rank - 1];
  if (b.shape[b.rank - 2] !== k) throw new Error(`matmul: inner dimensions differ: ${a.describe()} @ ${b.describe()}`);
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul');
  const out = emptyTensor(ctx, [...batchShape, m, n], a.dtype);
  if (out.numel === 0) return out;
  if (k === 0) { ctx.kernels.fill(out.storage.buffer, 0); return out; }

  const temps: Tensor[] = [];
  // Expands an operand to the batch shape and finds a copy-free layout, copying only if none exists.
  const operand = (t: Tensor, rows: number, cols: number): { op: MatmulOperand; batchStride: number } => {
    const fullShape = [...batchShape, rows, cols];
    let view = t.view(fullShape, broadcastStrides(t.shape, t.strides, fullShape, 'matmul'), t.offset);
    temps.push(view);
    let batchStride = collapsedBatchStride(batchShape, view.strides.slice(0, -2));
    let layout = matrixLayout(view, rows, cols);
    if (batchStride === null || layout === null) {
      view = contiguousCopy(view);
      temps.push(view);
      batchStride = rows * cols;
      layout = { transposed: false };
    }
    return { op: { buffer: view.storage.buffer, offset: view.offset, batchStride, transposed: layout.transposed }, batchStride };
  };
  try {
    const batch = numel(batchShape);
    let A = operand(a, m, k);
    const B = operand(b, k, n);
    let dims = { batch, m, n, k };
    // x (B, S, D) @ W (D, O): fold the batch into rows so one big matmul runs instead of B small ones.
    if (B.batchStride === 0 && !A.op.transposed && A.batchStride === m * k && batch > 1) {
      dims = { batch: 1, m: batch * m, n, k };
      A = { op: { ...A.op, batchStride: 0 }, batchStride: 0 };
    }
    ctx.run('matmul', { ...dims, aBroadcast: A.batchStride === 0 && dims.batch > 1, bBroadcast: B.batchStride === 0 && dims.batch > 1 }, a.dtype,
      (kernels) => kernels.matmul(dims, A.op, B.op, out.storage.buffer));
  } finally {
    for (const t of temps) t.dispose();
  }
  return out;
}

function assertIndices(op: string, indices: Tensor): void {
  if (indices.dtype !== 'i32') throw new Error(`${op}: indices must be i32, got ${indices.describe()}`);
}

/** out (...indices.shape, cols) = table rows picked by i32 indices. */
export function gatherRows(table: Tensor, indices: Tensor): Tensor {
  const ctx = sameContext('embedding', table, indices);
  assertIndices('embedding', indices);
  if (table.rank !== 2) throw new Error(`embedding: table must be 2-D (rows, cols), got ${table.describe()}`);
  const [rows, cols] = table.shape;
  const t = denseOf(table);
  const idx = denseOf(indices);
  const out = emptyTensor(ctx, [...indices.shape, cols], table.dtype);
  try {
    if (out.numel > 0) {
      ctx.run('gatherRows', { rows, cols, n: indices.numel }, table.dtype, (k) =>
        k.gatherRows(t.storage.buffer, rows, cols, idx.storage.buffer, indices.numel, out.storage.buffer));
    }
  } finally {
    t.dispose();
    idx.dispose();
  }
  return out;
}

/** A (rows, cols) tensor of zeros with src rows (..., cols) added at i32 `indices`. */
export function scatterAddRows(src: Tensor, indices: Tensor, rows: number): Tensor {
  const ctx = sameContext('embedding backward', src, indices);
  assertIndices('embedding backward', indices);
  const cols = src.shape[src.rank - 1];
  const out = full([rows, cols], 0, src.dtype, ctx);
  const s = denseOf(src);
  const idx = denseOf(indices);
  try {
    if (indices.numel > 0 && cols > 0) {
      ctx.run('scatterAddRows', { rows, cols, n: indices.numel }, src.dtype, (k) =>
        k.scatterAddRows(s.storage.buffer, idx.storage.buffer, indices.numel, cols, out.storage.buffer, rows));
    }
  } finally {
    s.dispose();
    idx.dispose();
  }
  return out;
}

/**
 * A handle whose elements start at storage element 0 in row-major order (shared
 * when possible): what kernels that take dense buffers need.
 */
export function denseOf(x: Tensor): Tensor {
  return x.offset === 0 && x.isContiguous ? x.view(x.shape, x.strides, 0) : contiguousCopy(x);
}

/** dst += src in place (dst dense; src is made dense and cast to dst's dtype if needed). */
export function accumulateInto(dst: Tensor, src: Tensor): void {
  const ctx = sameContext('accumulate', dst, src);
  if (!shapesEqual(dst.shape, src.shape)) throw new Error(`accumulate: ${dst.describe()} += ${src.describe()}: shapes differ`);
  if (!dst.isDense) throw new Error(`accumulate: destination ${dst.describe()} must be dense`);
  const s = src.dtype === dst.dtype ? denseOf(src) : cast(src, dst.dtype);
  try {
    if (dst.numel > 0) ctx.run('accumulate', { numel: dst.numel }, dst.dtype, (k) => k.accumulate(dst.storage.buffer, s.storage.buffer, dst.numel));
  } finally {
    s.dispose();
  }
  dst.storage.version++;
}

/** Fresh random values from the global generator (uniform in [a, b) or normal(mean a, std b)). */
export function random(shape: readonly number[], dtype: DType, distribution: RandomDistribution, a: number, b: number, ctx = currentContext()): Tensor {
  noteKernelOp(`random.${distribution}`);
  const out = emptyTensor(ctx, shape, dtype);
  const count = out.numel;
  const { seed, offset } = takeRandomWords(distribution === 'normal' ? 2 * count : count);
  if (count > 0) {
    ctx.run(`random.${distribution}`, { numel: count, distribution, seed, offset, a, b }, dtype, (k) =>
      k.random(out.storage.buffer, distribution, seed, offset, a, b));
  }
  return out;
}

/** A tensor holding host data. */
export function fromHost(data: Float64Array | Float32Array | Uint16Array | Int32Array, shape: readonly number[], dtype: DType, ctx = currentContext()): Tensor {
  if (data.length !== numel(shape)) throw new Error(`tensor: ${data.length} values do not fill shape ${formatShape(shape)} (${numel(shape)} elements)`);
  noteKernelOp('fromHost');
  const out = emptyTensor(ctx, shape, dtype);
  if (data.length > 0) ctx.kernels.write(out.storage.buffer, data);
  return out;
}

