// One generated test case per differentiable op: input shapes (with
// broadcasting and non-contiguous layouts), value domains, and how to call the
// op. Shared by the f64 gradcheck suite and the backend-generic autograd suite.

import * as fc from 'fast-check';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { normalFromUniforms, philoxWords, uniformFromWord } from '../../src/tensor/philox.js';

export type Domain = 'normal' | 'positive' | 'nonzero' | 'unit' | { indicesBelow: number; ignore?: number };
/** How a leaf is laid out: dense, a transposed view, or every other element of a wider tensor. */
export type Layout = 'dense' | 'transposed' | 'strided';

export interface InputSpec {
  shape: number[];
  domain?: Domain;
  layout?: Layout;
  /** i32 inputs (indices, labels) never require grad. */
  int?: boolean;
}

export interface OpCase {
  inputs: InputSpec[];
  seed: number;
  /** Calls the op under test (and only cheap glue around it). */
  run: (...xs: Tensor[]) => Tensor;
  /** Gradcheck settings when the defaults don't fit (e.g. a cast to f32 needs a larger eps). */
  gradcheck?: { eps?: number; atol?: number; rtol?: number };
  /** Backend-vs-reference tolerance when the case is not the same computation in both dtypes. */
  tolerance?: { rtol: number; atol: number };
  /** Disposes whatever the case built once for all calls (e.g. constant tables). */
  cleanup?: () => void;
}

function draw(domain: Domain, u: number, u2: number): number {
  if (typeof domain === 'object') return domain.ignore !== undefined && u2 < 0.25 ? domain.ignore : Math.min(domain.indicesBelow - 1, Math.floor(u * domain.indicesBelow));
  switch (domain) {
    case 'normal': return normalFromUniforms(u, u2);
    case 'positive': return 0.5 + 2 * u;
    case 'nonzero': return (u2 < 0.5 ? -1 : 1) * (0.5 + 2 * u);
    case 'unit': return u;
  }
}

export function inputValues(spec: InputSpec, seed: number, index: number): number[] {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const words = new Uint32Array(2 * n);
  philoxWords(seed * 16 + index, 0, words);
  // The first label is never ignored, so a mean over non-ignored labels is always defined.
  return Array.from({ length: n }, (_, i) => draw(spec.domain ?? 'normal', uniformFromWord(words[2 * i]), i === 0 ? 1 : uniformFromWord(words[2 * i + 1])));
}

/** Builds the input tensors of a case in `dtype` with their layouts; float inputs require grad. */
export function buildInputs(c: OpCase, dtype: 'f64' | 'f32' | 'f16'): Tensor[] {
  return c.inputs.map((spec, i) => {
    const values = inputValues(spec, c.seed, i);
    if (spec.int) return g.tensor(Int32Array.from(values), spec.shape).keep();
    const layout = spec.layout ?? 'dense';
    let leaf: Tensor;
    if (layout === 'dense' || spec.shape.length < 2) {
      leaf = g.tensor(Float64Array.from(values), spec.shape, { dtype });
    } else if (layout === 'transposed') {
      // Store the transpose densely, then view it back: same logical values, swapped strides.
      const r = spec.shape.length;
      const tShape = [...spec.shape.slice(0, -2), spec.shape[r - 1], spec.shape[r - 2]];
      const rows = spec.shape[r - 2];
      const cols = spec.shape[r - 1];
      const tv = new Float64Array(values.length);
      for (let b = 0; b < values.length / (rows * cols); b++) {
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) tv[b * rows * cols + j * rows + i] = values[b * rows * cols + i * cols + j];
      }
      const stored = g.tensor(tv, tShape, { dtype });
      leaf = g.noGrad(() => g.transpose(stored, -1, -2)).detach();
      stored.dispose();
    } else {
      // Interleave with filler so the leaf is every other element of a wider buffer.
      const wide = [...spec.shape.slice(0, -1), spec.shape[spec.shape.length - 1] * 2];
      const cols = spec.shape[spec.shape.length - 1];
      const wv = new Float64Array(values.length * 2).fill(1e6);
      for (let k = 0; k < values.length; k++) wv[Math.floor(k / cols) * 2 * cols + (k % cols) * 2] = values[k];
      const stored = g.tensor(wv, wide, { dtype });
      leaf = g.noGrad(() => g.slice(stored, -1, 0, wide[wide.length - 1], 2)).detach();
      stored.dispose();
    }
    leaf.requiresGrad = true;
    return leaf.keep();
  });
}

const small = (min = 1, max = 4) => fc.integer({ min, max });
const seed = fc.integer({ min: 0, max: 1e6 });
const layout = fc.constantFrom<Layout>('dense', 'transposed', 'strided');
/** A shape and a broadcast-compatible partner (some axes set to 1 or dropped). */
const broadcastPair = fc.array(small(), { minLength: 1, maxLength: 3 }).chain((shape) =>
  fc.record({
    a: fc.constant(shape),
    b: fc.tuple(fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }), fc.integer({ min: 0, max: shape.length - 1 }))
      .map(([ones, drop]) => shape.map((d, i) => (ones[i] ? 1 : d)).slice(drop)),
    swap: fc.boolean(),
  }).map(({ a, b, swap }) => (swap ? { a: b, b: a } : { a, b })));

function binaryCase(run: (a: Tensor, b: Tensor) => Tensor, domainB: Domain = 'normal'): fc.Arbitrary<OpCase> {
  return fc.record({ pair: broadcastPair, la: layout, lb: layout, seed }).map(({ pair, la, lb, seed: s }) => ({
    inputs: [{ shape: pair.a, layout: la }, { shape: pair.b, layout: lb, domain: domainB }], seed: s, run,
  }));
}

function unaryCase(run: (x: Tensor) => Tensor, domain: Domain = 'normal'): fc.Arbitrary<OpCase> {
  return fc.record({ shape: fc.array(small(), { minLength: 0, maxLength: 3 }), l: layout, seed }).map(({ shape, l, seed: s }) => ({
    inputs: [{ shape, layout: l, domain }], seed: s, run,
  }));
}

const matrixShape = fc.record({ batch: fc.array(small(1, 2), { maxLength: 1 }), rows: small(), cols: small(1, 6) });

/** Generated cases for every registered differentiable op, keyed by op name. */
export const OP_CASES: Record<string, fc.Arbitrary<OpCase>> = {
  add: binaryCase((a, b) => g.add(a, b)),
  sub: binaryCase((a, b) => g.sub(a, b)),
  mul: binaryCase((a, b) => g.mul(a, b)),
  div: binaryCase((a, b) => g.div(a, b), 'nonzero'),
  neg: unaryCase((x) => g.neg(x)),
  exp: unaryCase((x) => g.exp(x)),
  log: unaryCase((x) => g.log(x), 'positive'),
  sqrt: unaryCase((x) => g.sqrt(x), 'positive'),
  rsqrt: unaryCase((x) => g.rsqrt(x), 'positive'),
  powScalar: fc.tuple(unaryCase((x) => x, 'positive'), fc.constantFrom(2, 3, 0.5, -1.5)).map(([c, e]) => ({ ...c, run: (x: Tensor) => g.pow(x, e) })),
  addScalar: unaryCase((x) => g.add(x, 1.5)),
  mulScalar: unaryCase((x) => g.mul(x, -2.5)),
  sigmoid: unaryCase((x) => g.sigmoid(x)),
  silu: unaryCase((x) => g.silu(x)),
  relu: unaryCase((x) => g.relu(x), 'nonzero'),
  sum: fc.record({ shape: fc.array(small(), { minLength: 1, maxLength: 3 }), l: layout, seed, keep: fc.boolean(), pick: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }) })
    .map(({ shape, l, seed: s, keep, pick }) => ({
      inputs: [{ shape, layout: l }], seed: s,
      run: (x: Tensor) => g.sum(x, shape.map((_, i) => i).filter((i) => pick[i]), keep),
    })),
  max: fc.record({ shape: fc.array(small(), { minLength: 1, maxLength: 3 }), l: layout, seed, keep: fc.boolean(), axis: fc.nat(), both: fc.boolean() })
    .map(({ shape, l, seed: s, keep, axis, both }) => {
      const axes = both && shape.length > 1 ? [axis % shape.length, (axis + 1) % shape.length] : [axis % shape.length];
      return { inputs: [{ shape, layout: l }], seed: s, run: (x: Tensor) => g.max(x, axes, keep) };
    }),
  matmul: fc.record({ a: matrixShape, n: small(1, 5), bBatched: fc.boolean(), la: layout, lb: layout, seed }).map(({ a, n, bBatched, la, lb, seed: s }) => ({
    inputs: [{ shape: [...a.batch, a.rows, a.cols], layout: la }, { shape: [...(bBatched ? a.batch : []), a.cols, n], layout: lb }], seed: s,
    run: (x: Tensor, y: Tensor) => g.matmul(x, y),
  })),
  reshape: fc.record({ shape: fc.array(small(), { minLength: 1, maxLength: 3 }), l: layout, seed }).map(({ shape, l, seed: s }) => ({
    inputs: [{ shape, layout: l }], seed: s, run: (x: Tensor) => g.reshape(x, [shape.reduce((p, q) => p * q, 1)]),
  })),
  permute: fc.record({ shape: fc.array(small(), { minLength: 2, maxLength: 3 }), l: layout, seed }).map(({ shape, l, seed: s }) => ({
    inputs: [{ shape, layout: l }], seed: s, run: (x: Tensor) => g.mul(g.permute(x, [...shape.keys()].reverse()), 1),
  })),
  expand: fc.record({ shape: fc.array(small(), { minLength: 1, maxLength: 2 }), times: small(2, 3), seed }).map(({ shape, times, seed: s }) => ({
    inputs: [{ shape: [1, ...shape] }], seed: s, run: (x: Tensor) => g.mul(g.expand(x, [times, ...shape]), 1),
  })),
  slice: fc.record({ shape: fc.array(small(2, 5), { minLength: 1, maxLength: 3 }), l: layout, seed, start: fc.nat(), step: small(1, 2), axis: fc.nat() })
    .map(({ shape, l, seed: s, start, step, axis }) => {
      const a = axis % shape.length;
      return { inputs: [{ shape, layout: l }], seed: s, run: (x: Tensor) => g.mul(g.slice(x, a, start % shape[a], shape[a], step), 1) };
    }),
  contiguous: fc.record({ shape: fc.array(small(), { minLength: 2, maxLength: 3 }), seed }).map(({ shape, seed: s }) => ({
    inputs: [{ shape, layout: 'transposed' as Layout }], seed: s, run: (x: Tensor) => g.contiguous(x),
  })),
  concat: fc.record({ shape: fc.array(small(), { minLength: 1, maxLength: 3 }), extra: small(1, 3), axis: fc.nat(), la: layout, lb: layout, seed }).map(({ shape, extra, axis, la, lb, seed: s }) => {
    const a = axis % shape.length;
    const other = shape.map((d, i) => (i === a ? extra : d));
    return { inputs: [{ shape, layout: la }, { shape: other, layout: lb }], seed: s, run: (x: Tensor, y: Tensor) => g.concat([x, y], a) };
  }),
  softmax: fc.record({ shape: fc.array(small(), { minLength: 1, maxLength: 3 }), l: layout, seed, axis: fc.nat() }).map(({ shape, l, seed: s, axis }) => ({
    inputs: [{ shape, layout: l }], seed: s, run: (x: Tensor) => g.softmax(x, axis % shape.length),
  })),
  logSoftmax: fc.record({ shape: fc.array(small(), { minLength: 1, maxLength: 3 }), l: layout, seed }).map(({ shape, l, seed: s }) => ({
    inputs: [{ shape, layout: l }], seed: s, run: (x: Tensor) => g.logSoftmax(x),
  })),
  rmsNorm: fc.record({ rows: fc.array(small(), { maxLength: 2 }), cols: small(1, 6), l: layout, seed }).map(({ rows, cols, l, seed: s }) => ({
    inputs: [{ shape: [...rows, cols], layout: l }, { shape: [cols] }], seed: s, run: (x: Tensor, w: Tensor) => g.rmsNorm(x, w, 1e-5),
  })),
  rotary: fc.record({ b: small(1, 2), s: small(1, 3), h: small(1, 2), half: small(1, 3), seed }).map(({ b, s, h, half, seed: sd }) => {
    // The angle tables are constants that live as long as the model (here: the case).
    const tables = new Map<string, [Tensor, Tensor]>();
    const angles = inputValues({ shape: [s, half], domain: 'unit' }, sd, 7).map((u) => 6 * u);
    return {
      inputs: [{ shape: [b, s, h, 2 * half] }], seed: sd,
      run: (x: Tensor) => {
        const dtype = x.dtype === 'f64' ? 'f64' : 'f32';
        let pair = tables.get(dtype);
        if (!pair) {
          pair = [
            g.tensor(Float64Array.from(angles, Math.cos), [s, half], { dtype }).keep(),
            g.tensor(Float64Array.from(angles, Math.sin), [s, half], { dtype }).keep(),
          ];
          tables.set(dtype, pair);
        }
        return g.rotary(x, pair[0], pair[1]);
      },
      cleanup: () => { for (const pair of tables.values()) g.dispose(pair); tables.clear(); },
    };
  }),
  causalMask: fc.record({ batch: small(1, 2), rows: small(1, 4), extra: fc.integer({ min: 0, max: 2 }), seed }).map(({ batch, rows, extra, seed: s }) => ({
    // Softmax after the mask, as attention does, so the -inf entries give finite outputs.
    inputs: [{ shape: [batch, rows, rows + extra] }], seed: s, run: (x: Tensor) => g.softmax(g.causalMask(x)),
  })),
  siluMul: fc.record({ shape: fc.array(small(), { minLength: 1, maxLength: 3 }), la: layout, lb: layout, seed }).map(({ shape, la, lb, seed: s }) => ({
    inputs: [{ shape, layout: la }, { shape, layout: lb }], seed: s, run: (a: Tensor, b: Tensor) => g.siluMul(a, b),
  })),
  dropout: fc.record({ shape: fc.array(small(), { minLength: 1, maxLength: 3 }), p: fc.constantFrom(0.1, 0.5), seed }).map(({ shape, p, seed: s }) => ({
    // Reseeded on every call so the finite differences see the same mask as the backward.
    inputs: [{ shape }], seed: s, run: (x: Tensor) => { g.manualSeed(s); return g.dropout(x, p); },
  })),
  cast: fc.record({ shape: fc.array(small(), { minLength: 0, maxLength: 3 }), seed }).map(({ shape, seed: s }) => ({
    // A round trip through the next narrower float (f64 -> f32 -> f64, f32 -> f16 -> f32): the
    // gradient flows through two casts. The f32 rounding (~6e-8 relative) needs a finite-difference
    // step far above it; an f32 run (through f16) differs from the f64 reference (through f32) by
    // f16's rounding, 2^-11 relative.
    inputs: [{ shape }], seed: s, run: (x: Tensor) => g.cast(g.cast(x, x.dtype === 'f64' ? 'f32' : 'f16'), x.dtype),
    gradcheck: { eps: 1e-2, atol: 1e-4, rtol: 1e-4 },
    tolerance: { rtol: 1e-3, atol: 1e-4 },
  })),
  embedding: fc.record({ rows: small(1, 5), cols: small(1, 4), idx: fc.array(small(1, 3), { minLength: 1, maxLength: 2 }), seed }).map(({ rows, cols, idx, seed: s }) => ({
    inputs: [{ shape: [rows, cols] }, { shape: idx, int: true, domain: { indicesBelow: rows } }], seed: s,
    run: (w: Tensor, i: Tensor) => g.embedding(w, i),
  })),
  crossEntropy: fc.record({ lead: fc.array(small(1, 3), { minLength: 1, maxLength: 2 }), vocab: small(2, 6), reduction: fc.constantFrom<'mean' | 'sum' | 'none'>('mean', 'sum', 'none'), l: layout, seed }).map(({ lead, vocab, reduction, l, seed: s }) => ({
    inputs: [{ shape: [...lead, vocab], layout: l }, { shape: lead, int: true, domain: { indicesBelow: vocab, ignore: -100 } }], seed: s,
    run: (x: Tensor, labels: Tensor) => g.crossEntropy(x, labels, { reduction }),
  })),
};
