// Kernel-spec rows for the required core (see kernel-spec.ts for the row shape).

import * as fc from 'fast-check';
import type { DType, FloatDType } from '../tensor/dtype.js';
import { bytesPerElement } from '../tensor/dtype.js';
import { normalFromUniforms, philoxWords, uniformFromWord } from '../tensor/philox.js';
import type { BinaryOp, RandomDistribution, ReduceOp, UnaryOp } from './backend.js';
import { BINARY_OPS, UNARY_OPS } from './backend.js';
import { defineKernel, type KernelSpec, type Tolerance, type ValueDomain } from './kernel-spec.js';
import { arbLayout, arbSeed, arbShape, indices, offsetOf, type GeneratedLayout } from './spec-arbitraries.js';

const FLOATS: readonly FloatDType[] = ['f64', 'f32', 'f16'];
const numelOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

const EXACT: Tolerance = { rtol: 0, atol: 0 };
/** f16 outputs round to 11 significant bits; GPU f16 math adds a few ulp. */
const F16_ELEMENTWISE: Tolerance = { rtol: 4e-3, atol: 1e-3 };

// ---- strided copy ----------------------------------------------------------------

export interface CopyDims { shape: number[]; src: GeneratedLayout; dst: GeneratedLayout }

export const copyKernel = defineKernel<CopyDims>({
  name: 'copy',
  kind: 'core',
  dtypes: ['f64', 'f32', 'f16', 'i32'],
  buffers: (d, dtype) => [
    { role: 'in', dtype, numel: d.src.bufferNumel, domain: dtype === 'i32' ? 'smallInt' : 'normal' },
    { role: 'inout', dtype, numel: d.dst.bufferNumel, domain: dtype === 'i32' ? 'smallInt' : 'normal' },
  ],
  invoke: (k, d, [src, dst]) => k.copy(d.shape, { buffer: src, ...d.src }, dst, d.dst),
  reference: (d, [src, dst]) => {
    const out = dst.slice();
    for (const idx of indices(d.shape)) out[offsetOf(idx, d.dst)] = src[offsetOf(idx, d.src)];
    return { outputs: [out] };
  },
  tolerance: { f64: EXACT, f32: EXACT, f16: EXACT, i32: EXACT },
  work: (d, dtype) => ({ flops: 0, bytes: 2 * numelOf(d.shape) * bytesPerElement(dtype) }),
  cases: () => arbShape().chain((shape) =>
    fc.record({ shape: fc.constant(shape), src: arbLayout(shape, { broadcast: true }), dst: arbLayout(shape) })
      .chain((dims) => fc.record({ dims: fc.constant(dims), valueSeed: arbSeed }))),
});

// ---- elementwise unary -------------------------------------------------------------

// The references spell each op out again, independently of scalar-math.ts (which
// the CPU backend uses), so a wrong definition there is caught here.
const UNARY_REFERENCE: Record<UnaryOp, (x: number, c: number) => number> = {
  neg: (x) => -x, exp: (x) => Math.E ** x, log: (x) => Math.log(x), sqrt: (x) => x ** 0.5, rsqrt: (x) => x ** -0.5,
  sigmoid: (x) => 1 / (1 + Math.E ** -x), silu: (x) => x / (1 + Math.E ** -x), abs: (x) => (x < 0 ? -x : x),
  sin: (x) => Math.sin(x), cos: (x) => Math.cos(x), square: (x) => x ** 2, reciprocal: (x) => 1 / x,
  relu: (x) => Math.max(x, 0), addScalar: (x, c) => x + c, mulScalar: (x, c) => x * c, powScalar: (x, c) => x ** c,
};

export interface UnaryDims { op: UnaryOp; shape: number[]; x: GeneratedLayout; scalar: number }

const UNARY_DOMAIN: Partial<Record<UnaryOp, ValueDomain>> = {
  log: 'positive', sqrt: 'positive', rsqrt: 'positive', reciprocal: 'nonzero', powScalar: 'positive',
};

/**
 * powScalar with an integer exponent is defined for negative bases (the sign
 * follows the exponent's parity), a branch every backend must get right; a
 * fractional exponent needs a positive base.
 */
function unaryDomain(op: UnaryOp, scalar: number): ValueDomain {
  if (op === 'powScalar' && Number.isInteger(scalar)) return 'nonzero';
  return UNARY_DOMAIN[op] ?? 'normal';
}

/** WGSL's f32 sin/cos are only accurate to an absolute 2^-11 on [-pi, pi]. */
const UNARY_F32: Partial<Record<UnaryOp, Tolerance>> = {
  sin: { rtol: 0, atol: 1e-3 }, cos: { rtol: 0, atol: 1e-3 },
  exp: { rtol: 1e-5, atol: 1e-6 }, log: { rtol: 1e-5, atol: 1e-6 }, powScalar: { rtol: 1e-5, atol: 1e-6 },
};

function unarySpec(op: UnaryOp): KernelSpec<UnaryDims> {
  return defineKernel<UnaryDims>({
    name: `unary.${op}`,
    kind: 'core',
    dtypes: FLOATS,
    buffers: (d, dtype) => [
      { role: 'in', dtype, numel: d.x.bufferNumel, domain: unaryDomain(op, d.scalar) },
      { role: 'out', dtype, numel: numelOf(d.shape) },
    ],
    invoke: (k, d, [x, out]) => k.unary(op, d.shape, { buffer: x, ...d.x }, out, d.scalar),
    reference: (d, [x]) => {
      const fn = UNARY_REFERENCE[op];
      const out = new Float64Array(numelOf(d.shape));
      let i = 0;
      for (const idx of indices(d.shape)) out[i++] = fn(x[offsetOf(idx, d.x)], d.scalar);
      return { outputs: [out] };
    },
    tolerance: {
      f64: { rtol: 1e-12, atol: 1e-12 },
      f32: UNARY_F32[op] ?? { rtol: 2e-6, atol: 1e-7 },
      f16: op === 'sin' || op === 'cos' ? { rtol: 4e-3, atol: 4e-3 } : F16_ELEMENTWISE,
    },
    work: (d, dtype) => ({ flops: numelOf(d.shape), bytes: 2 * numelOf(d.shape) * bytesPerElement(dtype) }),
    cases: () => arbShape().chain((shape) =>
      fc.record({
        op: fc.constant(op),
        shape: fc.constant(shape),
        x: arbLayout(shape, { broadcast: true }),
        // powScalar: odd and even, positive, negative and zero integer exponents (negative bases), and fractional ones.
        scalar: op === 'powScalar' ? fc.constantFrom(2, 3, -1, -2, 0, 0.5, -1.5) : fc.constantFrom(0.5, -2, 3.25),
      }).chain((dims) => fc.record({ dims: fc.constant(dims), valueSeed: arbSeed }))),
  });
}

// ---- elementwise binary ------------------------------------------------------------

const BINARY_REFERENCE: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b,
  maximum: (a, b) => (a !== a || b !== b ? NaN : Math.max(a, b)), minimum: (a, b) => (a !== a || b !== b ? NaN : Math.min(a, b)),
  eq: (a, b) => Number(a === b), gt: (a, b) => Number(a > b),
};

export interface BinaryDims { op: BinaryOp; shape: number[]; a: GeneratedLayout; b: GeneratedLayout }

function binarySpec(op: BinaryOp): KernelSpec<BinaryDims> {
  // eq/gt need ties to be meaningful, so they draw from small integers.
  const domainA: ValueDomain = op === 'eq' || op === 'gt' ? 'smallInt' : 'normal';
  const domainB: ValueDomain = op === 'div' ? 'nonzero' : domainA;
  return defineKernel<BinaryDims>({
    name: `binary.${op}`,
    kind: 'core',
    dtypes: FLOATS,
    buffers: (d, dtype) => [
      { role: 'in', dtype, numel: d.a.bufferNumel, domain: domainA },
      { role: 'in', dtype, numel: d.b.bufferNumel, domain: domainB },
      { role: 'out', dtype, numel: numelOf(d.shape) },
    ],
    invoke: (k, d, [a, b, out]) => k.binary(op, d.shape, { buffer: a, ...d.a }, { buffer: b, ...d.b }, out),
    reference: (d, [a, b]) => {
      const fn = BINARY_REFERENCE[op];
      const out = new Float64Array(numelOf(d.shape));
      let i = 0;
      for (const idx of indices(d.shape)) out[i++] = fn(a[offsetOf(idx, d.a)], b[offsetOf(idx, d.b)]);
      return { outputs: [out] };
    },
    tolerance: { f64: { rtol: 1e-14, atol: 0 }, f32: { rtol: 1e-6, atol: 1e-7 }, f16: { rtol: 2e-3, atol: 1e-4 } },
    work: (d, dtype) => ({ flops: numelOf(d.shape), bytes: 3 * numelOf(d.shape) * bytesPerElement(dtype) }),
    cases: () => arbShape().chain((shape) =>
      fc.record({
        op: fc.constant(op), shape: fc.constant(shape),
        a: arbLayout(shape, { broadcast: true }), b: arbLayout(shape, { broadcast: true }),
      }).chain((dims) => fc.record({ dims: fc.constant(dims), valueSeed: arbSeed }))),
  });
}

// ---- reduction over one axis ----------------------------------------------------

const SUM_TOLERANCE: Record<FloatDType, Tolerance> = { f64: { rtol: 1e-13, atol: 0 }, f32: { rtol: 2e-6, atol: 1e-7 }, f16: { rtol: 2e-3, atol: 1e-4 } };

export interface ReduceDims { op: ReduceOp; shape: number[]; x: GeneratedLayout; axis: number }

function reduceSpec(op: ReduceOp): KernelSpec<ReduceDims> {
  return defineKernel<ReduceDims>({
    name: `reduce.${op}`,
    kind: 'core',
    dtypes: FLOATS,
    buffers: (d, dtype) => [
      { role: 'in', dtype, numel: d.x.bufferNumel },
      { role: 'out', dtype, numel: numelOf(d.shape.filter((_, i) => i !== d.axis)) },
    ],
    invoke: (k, d, [x, out]) => k.reduce(op, d.shape, { buffer: x, ...d.x }, d.axis, out),
    reference: (d, [x], dtype) => {
      const kept = d.shape.filter((_, i) => i !== d.axis);
      const out = new Float64Array(numelOf(kept));
      const magnitude = new Float64Array(out.length);
      // Summing n terms in order in f32 (the accumulator of every f32/f16 kernel) may err by up to
      // (n - 1) * 2^-24 * sum|x|; past the stated rtol's reach that bound is the contract, so long
      // axes (the GPU's tree path, gpu.js's sequential loop) are judged by it, short ones by rtol.
      const lengthFactor = dtype === 'f64' ? 1 : Math.max(1, ((d.shape[d.axis] - 1) * 2 ** -24) / SUM_TOLERANCE[dtype as FloatDType].rtol);
      let i = 0;
      for (const keptIdx of indices(kept)) {
        let acc = op === 'sum' ? 0 : -Infinity;
        let mag = 0;
        for (let r = 0; r < d.shape[d.axis]; r++) {
          const idx = [...keptIdx.slice(0, d.axis), r, ...keptIdx.slice(d.axis)];
          const v = x[offsetOf(idx, d.x)];
          acc = op === 'sum' ? acc + v : Math.max(acc, v);
          mag += Math.abs(v);
        }
        magnitude[i] = op === 'sum' ? mag * lengthFactor : 0;
        out[i++] = acc;
      }
      return { outputs: [out], magnitudes: [magnitude] };
    },
    tolerance: op === 'max'
      ? { f64: EXACT, f32: EXACT, f16: EXACT }
      : SUM_TOLERANCE,
    work: (d, dtype) => ({
      flops: numelOf(d.shape),
      bytes: (numelOf(d.shape) + numelOf(d.shape.filter((_, i) => i !== d.axis))) * bytesPerElement(dtype),
    }),
    cases: () => fc.oneof({ arbitrary: arbShape({ minRank: 1, maxDim: 9 }), weight: 3 }, { arbitrary: arbLongAxisShape, weight: 1 }).chain((shape) =>
      fc.record({
        op: fc.constant(op), shape: fc.constant(shape),
        x: arbLayout(shape, { broadcast: true }),
        // A long axis, when there is one, is the one reduced (so the GPU's tree path runs).
        axis: shape.some((d) => d >= LONG_AXIS_MIN) ? fc.constant(shape.findIndex((d) => d >= LONG_AXIS_MIN)) : fc.integer({ min: 0, max: shape.length - 1 }),
      }).chain((dims) => fc.record({ dims: fc.constant(dims), valueSeed: arbSeed }))),
  });
}

/**
 * Shapes with one axis of 240-600 elements: WebGPU reduces an axis of 256 or
 * more with a one-workgroup shared-memory tree (256 invocations, strided
 * loads, then halving steps), and shorter ones with a loop per output; these
 * cross that threshold and the workgroup's width, contiguous and strided.
 */
const LONG_AXIS_MIN = 240;
const arbLongAxisShape: fc.Arbitrary<number[]> = fc.tuple(
  fc.integer({ min: 1, max: 3 }), fc.integer({ min: LONG_AXIS_MIN, max: 600 }), fc.integer({ min: 1, max: 3 }), fc.boolean(),
).map(([outer, long, inner, trailing]) => (trailing ? [outer, long] : [outer, long, inner]));

// ---- batched matmul ------------------------------------------------------------------

export interface MatmulSpecDims {
  batch: number; m: number; n: number; k: number;
  aTransposed: boolean; bTransposed: boolean; aBroadcast: boolean; bBroadcast: boolean;
}

export const matmulKernel = defineKernel<MatmulSpecDims>({
  name: 'matmul',
  kind: 'core',
  dtypes: FLOATS,
  buffers: (d, dtype) => [
    { role: 'in', dtype, numel: (d.aBroadcast ? 1 : d.batch) * d.m * d.k },
    { role: 'in', dtype, numel: (d.bBroadcast ? 1 : d.batch) * d.k * d.n },
    { role: 'out', dtype, numel: d.batch * d.m * d.n },
  ],
  invoke: (k, d, [a, b, out]) => k.matmul(
    { batch: d.batch, m: d.m, n: d.n, k: d.k },
    { buffer: a, offset: 0, batchStride: d.aBroadcast ? 0 : d.m * d.k, transposed: d.aTransposed },
    { buffer: b, offset: 0, batchStride: d.bBroadcast ? 0 : d.k * d.n, transposed: d.bTransposed },
    out,
  ),
  reference: (d, [a, b]) => {
    const out = new Float64Array(d.batch * d.m * d.n);
    const magnitude = new Float64Array(out.length);
    // Element (r, c) of a row-major (rows, cols) matrix, or of its column-major storage.
    const at = (v: Float64Array, base: number, transposed: boolean, rows: number, cols: number, r: number, c: number) =>
      v[base + (transposed ? c * rows + r : r * cols + c)];
    for (let bi = 0; bi < d.batch; bi++) {
      const aBase = d.aBroadcast ? 0 : bi * d.m * d.k;
      const bBase = d.bBroadcast ? 0 : bi * d.k * d.n;
      for (let i = 0; i < d.m; i++) {
        for (let j = 0; j < d.n; j++) {
          let acc = 0;
          let mag = 0;
          for (let p = 0; p < d.k; p++) {
            const prod = at(a, aBase, d.aTransposed, d.m, d.k, i, p) * at(b, bBase, d.bTransposed, d.k, d.n, p, j);
            acc += prod;
            mag += Math.abs(prod);
          }
          out[(bi * d.m + i) * d.n + j] = acc;
          magnitude[(bi * d.m + i) * d.n + j] = mag;
        }
      }
    }
    return { outputs: [out], magnitudes: [magnitude] };
  },
  tolerance: { f64: { rtol: 1e-13, atol: 0 }, f32: { rtol: 1e-5, atol: 1e-7 }, f16: { rtol: 2e-3, atol: 1e-4 } },
  work: (d, dtype) => ({
    flops: 2 * d.batch * d.m * d.n * d.k,
    bytes: ((d.aBroadcast ? 1 : d.batch) * d.m * d.k + (d.bBroadcast ? 1 : d.batch) * d.k * d.n + d.batch * d.m * d.n) * bytesPerElement(dtype),
  }),
  cases: () => fc.record({
    batch: fc.integer({ min: 1, max: 3 }),
    m: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 70 })),
    n: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 70 })),
    k: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 10, max: 70 })),
    aTransposed: fc.boolean(), bTransposed: fc.boolean(), aBroadcast: fc.boolean(), bBroadcast: fc.boolean(),
  }).chain((dims) => fc.record({ dims: fc.constant(dims), valueSeed: arbSeed })),
});

// ---- dtype conversion ----------------------------------------------------------------

export interface CastDims { shape: number[]; x: GeneratedLayout; to: DType }

export const castKernel = defineKernel<CastDims>({
  name: 'cast',
  kind: 'core',
  dtypes: ['f64', 'f32', 'f16', 'i32'],
  buffers: (d, dtype) => [
    { role: 'in', dtype, numel: d.x.bufferNumel, domain: dtype === 'i32' ? 'smallInt' : 'logits' },
    { role: 'out', dtype: d.to, numel: numelOf(d.shape) },
  ],
  invoke: (k, d, [x, out]) => k.cast(d.shape, { buffer: x, ...d.x }, out),
  reference: (d, [x]) => {
    const out = new Float64Array(numelOf(d.shape));
    let i = 0;
    for (const idx of indices(d.shape)) {
      const v = x[offsetOf(idx, d.x)];
      out[i++] = d.to === 'i32' ? Math.trunc(v) : v;
    }
    return { outputs: [out] };
  },
  // The output is compared after rounding the reference to the target dtype (see conformance),
  // so a correctly rounding cast is exact; f16 targets allow one ulp for GPUs that truncate.
  tolerance: { f64: EXACT, f32: EXACT, f16: { rtol: 2 ** -10, atol: 2 ** -24 }, i32: EXACT },
  work: (d, dtype) => ({ flops: 0, bytes: numelOf(d.shape) * (bytesPerElement(dtype) + bytesPerElement(d.to)) }),
  cases: (dtype) => arbShape().chain((shape) =>
    fc.record({
      shape: fc.constant(shape), x: arbLayout(shape, { broadcast: true }),
      to: fc.constantFrom<DType>(...(['f64', 'f32', 'f16', 'i32'] as DType[]).filter((t) => t !== dtype)),
    }).chain((dims) => fc.record({ dims: fc.constant(dims), valueSeed: arbSeed }))),
});

// ---- embedding gather and scatter-add ------------------------------------------

export interface RowsDims { rows: number; cols: number; n: number }

const arbRows = fc.record({ rows: fc.integer({ min: 1, max: 40 }), cols: fc.integer({ min: 1, max: 24 }), n: fc.integer({ min: 0, max: 30 }) })
  .chain((dims) => fc.record({ dims: fc.constant(dims), valueSeed: arbSeed }));

export const gatherRowsKernel = defineKernel<RowsDims>({
  name: 'gatherRows',
  kind: 'core',
  dtypes: FLOATS,
  buffers: (d, dtype) => [
    { role: 'in', dtype, numel: d.rows * d.cols },
    { role: 'in', dtype: 'i32', numel: d.n, domain: { indicesBelow: d.rows } },
    { role: 'out', dtype, numel: d.n * d.cols },
  ],
  invoke: (k, d, [table, idx, out]) => k.gatherRows(table, d.rows, d.cols, idx, d.n, out),
  reference: (d, [table, idx]) => {
    const out = new Float64Array(d.n * d.cols);
    for (let i = 0; i < d.n; i++) for (let c = 0; c < d.cols; c++) out[i * d.cols + c] = table[idx[i] * d.cols + c];
    return { outputs: [out] };
  },
  tolerance: { f64: EXACT, f32: EXACT, f16: EXACT },
  work: (d, dtype) => ({ flops: 0, bytes: 2 * d.n * d.cols * bytesPerElement(dtype) + 4 * d.n }),
  cases: () => arbRows,
});

export const scatterAddRowsKernel = defineKernel<RowsDims>({
  name: 'scatterAddRows',
  kind: 'core',
  dtypes: FLOATS,
  buffers: (d, dtype) => [
    { role: 'in', dtype, numel: d.n * d.cols },
    { role: 'in', dtype: 'i32', numel: d.n, domain: { indicesBelow: d.rows } },
    { role: 'inout', dtype, numel: d.rows * d.cols },
  ],
  invoke: (k, d, [src, idx, out]) => k.scatterAddRows(src, idx, d.n, d.cols, out, d.rows),
  reference: (d, [src, idx, initial]) => {
    const out = initial.slice();
    const magnitude = initial.map(Math.abs);
    for (let i = 0; i < d.n; i++) {
      for (let c = 0; c < d.cols; c++) {
        out[idx[i] * d.cols + c] += src[i * d.cols + c];
        magnitude[idx[i] * d.cols + c] += Math.abs(src[i * d.cols + c]);
      }
    }
    return { outputs: [out], magnitudes: [magnitude] };
  },
  tolerance: { f64: { rtol: 1e-14, atol: 0 }, f32: { rtol: 1e-6, atol: 0 }, f16: { rtol: 2e-3, atol: 1e-4 } },
  work: (d, dtype) => ({ flops: d.n * d.cols, bytes: 3 * d.n * d.cols * bytesPerElement(dtype) + 4 * d.n }),
  cases: () => arbRows,
});

// ---- in-place accumulate ----------------------------------------------------------

export interface NumelDims { numel: number }

export const accumulateKernel = defineKernel<NumelDims>({
  name: 'accumulate',
  kind: 'core',
  dtypes: FLOATS,
  buffers: (d, dtype) => [
    { role: 'inout', dtype, numel: d.numel },
    { role: 'in', dtype, numel: d.numel },
  ],
  invoke: (k, d, [dst, src]) => k.accumulate(dst, src, d.numel),
  reference: (d, [dst, src]) => ({ outputs: [dst.map((v, i) => v + src[i])] }),
  tolerance: { f64: EXACT, f32: { rtol: 1e-7, atol: 0 }, f16: { rtol: 1e-3, atol: 1e-4 } },
  work: (d, dtype) => ({ flops: d.numel, bytes: 3 * d.numel * bytesPerElement(dtype) }),
  cases: () => fc.record({ dims: fc.record({ numel: fc.integer({ min: 0, max: 300 }) }), valueSeed: arbSeed }),
});

// ---- counter-based random ---------------------------------------------------------

export interface RandomDims { numel: number; distribution: RandomDistribution; seed: number; offset: number; a: number; b: number }

export function referenceRandom(d: RandomDims): Float64Array {
  const words = new Uint32Array(d.distribution === 'normal' ? 2 * d.numel : d.numel);
  philoxWords(d.seed, d.offset, words);
  const out = new Float64Array(d.numel);
  for (let i = 0; i < d.numel; i++) {
    out[i] = d.distribution === 'uniform'
      ? d.a + (d.b - d.a) * uniformFromWord(words[i])
      : d.a + d.b * normalFromUniforms(uniformFromWord(words[2 * i]), uniformFromWord(words[2 * i + 1]));
  }
  return out;
}

/** |a| + |(b - a) u| per element: the scale of an f32 evaluation's rounding error for uniforms. */
function uniformMagnitudes(d: RandomDims): Float64Array {
  const words = new Uint32Array(d.numel);
  philoxWords(d.seed, d.offset, words);
  return Float64Array.from(words, (w) => Math.abs(d.a) + Math.abs((d.b - d.a) * uniformFromWord(w)));
}

function randomSpec(distribution: RandomDistribution): KernelSpec<RandomDims> {
  return defineKernel<RandomDims>({
    name: `random.${distribution}`,
    kind: 'core',
    dtypes: FLOATS,
    buffers: (d, dtype) => [{ role: 'out', dtype, numel: d.numel }],
    invoke: (k, d, [out]) => k.random(out, d.distribution, d.seed, d.offset, d.a, d.b),
    reference: (d) => ({ outputs: [referenceRandom(d)], magnitudes: distribution === 'uniform' ? [uniformMagnitudes(d)] : undefined }),
    // Uniform variates u are exact in f32, but a + (b - a) * u evaluated in f32 (as GPU kernels do)
    // rounds twice and cancels where a < 0 < b: the bound is relative to |a| + |(b - a) u|, and the
    // f32 rtol covers the two roundings plus the f32 rounding of b - a (1.5 * 2^-23). Normals go
    // through log/cos, whose GPU accuracy is absolute.
    tolerance: distribution === 'uniform'
      ? { f64: { rtol: 1e-15, atol: 0 }, f32: { rtol: 2e-7, atol: 0 }, f16: { rtol: 2 ** -10, atol: 2 ** -24 } }
      : { f64: { rtol: 1e-12, atol: 1e-12 }, f32: { rtol: 1e-5, atol: 2e-3 }, f16: { rtol: 4e-3, atol: 4e-3 } },
    work: (d, dtype) => ({ flops: (distribution === 'uniform' ? 2 : 8) * d.numel, bytes: d.numel * bytesPerElement(dtype) }),
    cases: () => fc.record({
      dims: fc.record({
        numel: fc.integer({ min: 0, max: 257 }),
        distribution: fc.constant(distribution),
        seed: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
        offset: fc.oneof(fc.integer({ min: 0, max: 17 }), fc.integer({ min: 0, max: 2 ** 40 })),
        a: fc.constantFrom(0, -1),
        b: fc.constantFrom(1, 2),
      }),
      valueSeed: arbSeed,
    }),
  });
}

export const coreKernelSpecs: KernelSpec[] = [
  copyKernel,
  ...UNARY_OPS.map(unarySpec),
  ...BINARY_OPS.map(binarySpec),
  reduceSpec('sum'),
  reduceSpec('max'),
  matmulKernel,
  castKernel,
  gatherRowsKernel,
  scatterAddRowsKernel,
  accumulateKernel,
  randomSpec('uniform'),
  randomSpec('normal'),
];

