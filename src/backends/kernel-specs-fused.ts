// Kernel-spec rows for the fused kernels (see kernel-spec.ts for the row shape).
// References are written from the math, independently of any backend.

import * as fc from 'fast-check';
import type { DType, FloatDType } from '../tensor/dtype.js';
import { bytesPerElement } from '../tensor/dtype.js';
import { roundToF16 } from '../tensor/f16.js';
import { philoxWords, uniformFromWord } from '../tensor/philox.js';
import { defineKernel, type KernelSpec, type Tolerance, type ValueDomain } from './kernel-spec.js';
import { arbSeed } from './spec-arbitraries.js';

const FLOATS: readonly FloatDType[] = ['f64', 'f32', 'f16'];
/** Per-row statistics (rstd, logsumexp, per-row loss) are kept in f32, or f64 for f64 inputs. */
export const statDType = (dtype: DType): DType => (dtype === 'f64' ? 'f64' : 'f32');
const bpe = bytesPerElement;

const ROWWISE_TOL: Record<FloatDType, Tolerance> = {
  f64: { rtol: 1e-12, atol: 1e-13 },
  f32: { rtol: 1e-5, atol: 1e-6 },
  f16: { rtol: 4e-3, atol: 2e-3 },
};

export interface RowsColsDims { rows: number; cols: number }
/**
 * Row lengths, now and then past 1024, where WebGPU's row kernels switch from
 * 64- to 256-invocation workgroups (the tree reduction's width changes).
 */
const arbCols = (maxSmall: number) => fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: maxSmall }), weight: 4 },
  { arbitrary: fc.integer({ min: 1000, max: 1100 }), weight: 1 },
);

const arbRowsCols = (maxCols = 70) => fc.record({
  dims: fc.record({ rows: fc.integer({ min: 0, max: 12 }), cols: arbCols(maxCols) }),
  valueSeed: arbSeed,
});

function rowSoftmax(x: Float64Array, rows: number, cols: number, log: boolean): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const max = Math.max(...row);
    const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
    for (let c = 0; c < cols; c++) out[r * cols + c] = log ? row[c] - max - Math.log(sum) : Math.exp(row[c] - max) / sum;
  }
  return out;
}

function softmaxSpec(log: boolean): KernelSpec<RowsColsDims> {
  return defineKernel<RowsColsDims>({
    name: log ? 'logSoftmax' : 'softmax',
    kind: 'fused',
    dtypes: FLOATS,
    buffers: (d, dtype) => [
      { role: 'in', dtype, numel: d.rows * d.cols, domain: 'logits' },
      { role: 'out', dtype, numel: d.rows * d.cols },
    ],
    invoke: (k, d, [x, out]) => k.softmax(x, d.rows, d.cols, log, out),
    reference: (d, [x]) => ({ outputs: [rowSoftmax(x, d.rows, d.cols, log)] }),
    tolerance: ROWWISE_TOL,
    work: (d, dtype) => ({ flops: 5 * d.rows * d.cols, bytes: 2 * d.rows * d.cols * bpe(dtype) }),
    cases: () => arbRowsCols(300),
  });
}

function softmaxBackwardSpec(log: boolean): KernelSpec<RowsColsDims> {
  return defineKernel<RowsColsDims>({
    name: log ? 'logSoftmaxBackward' : 'softmaxBackward',
    kind: 'fused',
    dtypes: FLOATS,
    // The formula is checked on arbitrary y, not only on genuine softmax outputs.
    buffers: (d, dtype) => [
      { role: 'in', dtype, numel: d.rows * d.cols, domain: 'logits' },
      { role: 'in', dtype, numel: d.rows * d.cols },
      { role: 'out', dtype, numel: d.rows * d.cols },
    ],
    invoke: (k, d, [y, g, gx]) => k.softmaxBackward(y, g, d.rows, d.cols, log, gx),
    reference: (d, [y, g]) => {
      const out = new Float64Array(d.rows * d.cols);
      const magnitude = new Float64Array(d.rows * d.cols);
      for (let r = 0; r < d.rows; r++) {
        let dot = 0;
        let dotMag = 0;
        for (let c = 0; c < d.cols; c++) {
          const i = r * d.cols + c;
          dot += log ? g[i] : g[i] * y[i];
          dotMag += Math.abs(log ? g[i] : g[i] * y[i]);
        }
        for (let c = 0; c < d.cols; c++) {
          const i = r * d.cols + c;
          out[i] = log ? g[i] - Math.exp(y[i]) * dot : y[i] * (g[i] - dot);
          magnitude[i] = log ? Math.abs(g[i]) + Math.exp(y[i]) * dotMag : Math.abs(y[i]) * (Math.abs(g[i]) + dotMag);
        }
      }
      return { outputs: [out], magnitudes: [magnitude] };
    },
    tolerance: ROWWISE_TOL,
    work: (d, dtype) => ({ flops: 4 * d.rows * d.cols, bytes: 3 * d.rows * d.cols * bpe(dtype) }),
    cases: () => arbRowsCols(300),
  });
}

export interface RmsNormDims { rows: number; cols: number; eps: number }
const arbRms = fc.record({
  dims: fc.record({ rows: fc.integer({ min: 0, max: 12 }), cols: arbCols(300), eps: fc.constantFrom(1e-5, 1e-6, 0.1) }),
  valueSeed: arbSeed,
});

function rmsReference(d: RmsNormDims, x: Float64Array, w: Float64Array, dtype: DType) {
  const y = new Float64Array(d.rows * d.cols);
  const rstd = new Float64Array(d.rows);
  const storeStat = statDType(dtype) === 'f32' ? Math.fround : (v: number) => v;
  const roundToInput = dtype === 'f16' ? roundToF16 : dtype === 'f32' ? Math.fround : (v: number) => v;
  for (let r = 0; r < d.rows; r++) {
    let ss = 0;
    for (let c = 0; c < d.cols; c++) ss += x[r * d.cols + c] ** 2;
    rstd[r] = storeStat(1 / Math.sqrt(ss / d.cols + d.eps));
    for (let c = 0; c < d.cols; c++) y[r * d.cols + c] = roundToInput(x[r * d.cols + c] * rstd[r]) * w[c];
  }
  return { y, rstd };
}

export const rmsNormKernel = defineKernel<RmsNormDims>({
  name: 'rmsNorm',
  kind: 'fused',
  dtypes: FLOATS,
  buffers: (d, dtype) => [
    { role: 'in', dtype, numel: d.rows * d.cols },
    { role: 'in', dtype, numel: d.cols },
    { role: 'out', dtype, numel: d.rows * d.cols },
    { role: 'out', dtype: statDType(dtype), numel: d.rows },
  ],
  invoke: (k, d, [x, w, y, rstd]) => k.rmsNorm(x, w, d.rows, d.cols, d.eps, y, rstd),
  reference: (d, [x, w], dtype) => {
    const { y, rstd } = rmsReference(d, x, w, dtype);
    return { outputs: [y, rstd] };
  },
  tolerance: ROWWISE_TOL,
  work: (d, dtype) => ({ flops: 4 * d.rows * d.cols, bytes: (2 * d.rows * d.cols + d.cols) * bpe(dtype) + d.rows * bpe(statDType(dtype)) }),
  cases: () => arbRms,
});

export const rmsNormBackwardKernel = defineKernel<RmsNormDims>({
  name: 'rmsNormBackward',
  kind: 'fused',
  dtypes: FLOATS,
  buffers: (d, dtype) => [
    { role: 'in', dtype, numel: d.rows * d.cols },
    { role: 'in', dtype, numel: d.cols },
    { role: 'in', dtype: statDType(dtype), numel: d.rows, domain: 'positive' },
    { role: 'in', dtype, numel: d.rows * d.cols },
    { role: 'out', dtype, numel: d.rows * d.cols },
    { role: 'out', dtype, numel: d.cols },
  ],
  invoke: (k, d, [x, w, rstd, g, gx, gw]) => k.rmsNormBackward(x, w, rstd, g, d.rows, d.cols, gx, gw),
  reference: (d, [x, w, rstd, g]) => {
    const gx = new Float64Array(d.rows * d.cols);
    const gxMag = new Float64Array(d.rows * d.cols);
    const gw = new Float64Array(d.cols);
    const gwMag = new Float64Array(d.cols);
    for (let r = 0; r < d.rows; r++) {
      const rs = rstd[r];
      let dot = 0;
      let dotMag = 0;
      for (let c = 0; c < d.cols; c++) {
        const term = g[r * d.cols + c] * w[c] * x[r * d.cols + c] * rs;
        dot += term;
        dotMag += Math.abs(term);
      }
      dot /= d.cols;
      dotMag /= d.cols;
      for (let c = 0; c < d.cols; c++) {
        const i = r * d.cols + c;
        const n = x[i] * rs;
        gx[i] = rs * (g[i] * w[c] - n * dot);
        gxMag[i] = rs * (Math.abs(g[i] * w[c]) + Math.abs(n) * dotMag);
        gw[c] += g[i] * n;
        gwMag[c] += Math.abs(g[i] * n);
      }
    }
    return { outputs: [gx, gw], magnitudes: [gxMag, gwMag] };
  },
  tolerance: ROWWISE_TOL,
  work: (d, dtype) => ({ flops: 8 * d.rows * d.cols, bytes: (3 * d.rows * d.cols + 2 * d.cols) * bpe(dtype) + d.rows * bpe(statDType(dtype)) }),
  cases: () => arbRms,
});

export interface RotaryDims { batch: number; seq: number; heads: number; headDim: number }

function rotarySpec(inverse: boolean): KernelSpec<RotaryDims> {
  return defineKernel<RotaryDims>({
    name: inverse ? 'rotaryInverse' : 'rotary',
    kind: 'fused',
    dtypes: FLOATS,
    buffers: (d, dtype) => [
      { role: 'in', dtype, numel: d.batch * d.seq * d.heads * d.headDim },
      { role: 'in', dtype: statDType(dtype), numel: d.seq * d.headDim / 2, domain: 'unit' },
      { role: 'in', dtype: statDType(dtype), numel: d.seq * d.headDim / 2, domain: 'unit' },
      { role: 'out', dtype, numel: d.batch * d.seq * d.heads * d.headDim },
    ],
    invoke: (k, d, [x, cos, sin, out]) => k.rotary(x, cos, sin, d.batch, d.seq, d.heads, d.headDim, inverse, out),
    reference: (d, [x, cos, sin]) => {
      const out = new Float64Array(x.length);
      const magnitude = new Float64Array(x.length);
      const half = d.headDim / 2;
      const sign = inverse ? -1 : 1;
      for (let t = 0; t < d.batch * d.seq * d.heads; t++) {
        const s = Math.floor(t / d.heads) % d.seq;
        for (let i = 0; i < half; i++) {
          const c = cos[s * half + i];
          const sn = sign * sin[s * half + i];
          const x0 = x[t * d.headDim + 2 * i];
          const x1 = x[t * d.headDim + 2 * i + 1];
          out[t * d.headDim + 2 * i] = x0 * c - x1 * sn;
          out[t * d.headDim + 2 * i + 1] = x0 * sn + x1 * c;
          const mag = Math.abs(x0 * c) + Math.abs(x1 * sn) + Math.abs(x0 * sn) + Math.abs(x1 * c);
          magnitude[t * d.headDim + 2 * i] = mag;
          magnitude[t * d.headDim + 2 * i + 1] = mag;
        }
      }
      return { outputs: [out], magnitudes: [magnitude] };
    },
    tolerance: ROWWISE_TOL,
    work: (d, dtype) => ({ flops: 3 * d.batch * d.seq * d.heads * d.headDim, bytes: 2 * d.batch * d.seq * d.heads * d.headDim * bpe(dtype) + d.seq * d.headDim * bpe(statDType(dtype)) }),
    cases: () => fc.record({
      dims: fc.record({
        batch: fc.integer({ min: 1, max: 3 }), seq: fc.integer({ min: 1, max: 9 }),
        heads: fc.integer({ min: 1, max: 4 }), headDim: fc.integer({ min: 1, max: 12 }).map((h) => 2 * h),
      }),
      valueSeed: arbSeed,
    }),
  });
}

export interface NumelOnlyDims { numel: number }
const arbNumel = fc.record({ dims: fc.record({ numel: fc.integer({ min: 0, max: 600 }) }), valueSeed: arbSeed });
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export const siluMulKernel = defineKernel<NumelOnlyDims>({
  name: 'siluMul',
  kind: 'fused',
  dtypes: FLOATS,
  buffers: (d, dtype) => [
    { role: 'in', dtype, numel: d.numel }, { role: 'in', dtype, numel: d.numel }, { role: 'out', dtype, numel: d.numel },
  ],
  invoke: (k, d, [a, b, out]) => k.siluMul(a, b, d.numel, out),
  reference: (_d, [a, b]) => ({ outputs: [a.map((v, i) => v * sigmoid(v) * b[i])] }),
  tolerance: ROWWISE_TOL,
  work: (d, dtype) => ({ flops: 5 * d.numel, bytes: 3 * d.numel * bpe(dtype) }),
  cases: () => arbNumel,
});

export const siluMulBackwardKernel = defineKernel<NumelOnlyDims>({
  name: 'siluMulBackward',
  kind: 'fused',
  dtypes: FLOATS,
  buffers: (d, dtype) => [
    { role: 'in', dtype, numel: d.numel }, { role: 'in', dtype, numel: d.numel }, { role: 'in', dtype, numel: d.numel },
    { role: 'out', dtype, numel: d.numel }, { role: 'out', dtype, numel: d.numel },
  ],
  invoke: (k, d, [a, b, g, ga, gb]) => k.siluMulBackward(a, b, g, d.numel, ga, gb),
  reference: (_d, [a, b, g]) => {
    const ga = a.map((v, i) => { const s = sigmoid(v); return g[i] * b[i] * (s + v * s * (1 - s)); });
    const gb = a.map((v, i) => g[i] * v * sigmoid(v));
    return { outputs: [ga, gb] };
  },
  tolerance: ROWWISE_TOL,
  work: (d, dtype) => ({ flops: 10 * d.numel, bytes: 5 * d.numel * bpe(dtype) }),
  cases: () => arbNumel,
});

export interface CrossEntropyDims { rows: number; cols: number; ignoreIndex: number }
const arbCrossEntropy = fc.record({
  dims: fc.record({ rows: fc.integer({ min: 0, max: 12 }), cols: arbCols(300), ignoreIndex: fc.constant(-100) }),
  valueSeed: arbSeed,
});

function logSumExpRows(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const max = Math.max(...row);
    out[r] = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
  }
  return out;
}

export const crossEntropyKernel = defineKernel<CrossEntropyDims>({
  name: 'crossEntropy',
  kind: 'fused',
  dtypes: FLOATS,
  buffers: (d, dtype) => [
    { role: 'in', dtype, numel: d.rows * d.cols, domain: 'logits' },
    { role: 'in', dtype: 'i32', numel: d.rows, domain: { indicesBelow: d.cols, ignore: d.ignoreIndex } },
    { role: 'out', dtype: statDType(dtype), numel: d.rows },
    { role: 'out', dtype: statDType(dtype), numel: d.rows },
  ],
  invoke: (k, d, [logits, labels, loss, lse]) => k.crossEntropy(logits, labels, d.rows, d.cols, d.ignoreIndex, loss, lse),
  reference: (d, [x, labels]) => {
    const lse = logSumExpRows(x, d.rows, d.cols);
    const loss = lse.map((v, r) => (labels[r] === d.ignoreIndex ? 0 : v - x[r * d.cols + labels[r]]));
    const magnitude = lse.map((v, r) => Math.abs(v) + (labels[r] === d.ignoreIndex ? 0 : Math.abs(x[r * d.cols + labels[r]])));
    return { outputs: [loss, lse], magnitudes: [magnitude, undefined] };
  },
  tolerance: ROWWISE_TOL,
  work: (d, dtype) => ({ flops: 4 * d.rows * d.cols, bytes: d.rows * d.cols * bpe(dtype) + d.rows * (4 + 2 * bpe(statDType(dtype))) }),
  cases: () => arbCrossEntropy,
});

export const crossEntropyBackwardKernel = defineKernel<CrossEntropyDims>({
  name: 'crossEntropyBackward',
  kind: 'fused',
  dtypes: FLOATS,
  buffers: (d, dtype) => [
    { role: 'in', dtype, numel: d.rows * d.cols, domain: 'logits' },
    { role: 'in', dtype: statDType(dtype), numel: d.rows },
    { role: 'in', dtype: 'i32', numel: d.rows, domain: { indicesBelow: d.cols, ignore: d.ignoreIndex } },
    { role: 'in', dtype: statDType(dtype), numel: d.rows },
    { role: 'out', dtype, numel: d.rows * d.cols },
  ],
  invoke: (k, d, [logits, lse, labels, gRow, gLogits]) => k.crossEntropyBackward(logits, lse, labels, gRow, d.rows, d.cols, d.ignoreIndex, gLogits),
  reference: (d, [x, lse, labels, gRow]) => {
    const out = new Float64Array(d.rows * d.cols);
    const magnitude = new Float64Array(d.rows * d.cols);
    for (let r = 0; r < d.rows; r++) {
      if (labels[r] === d.ignoreIndex) continue;
      for (let c = 0; c < d.cols; c++) {
        const p = Math.exp(x[r * d.cols + c] - lse[r]);
        out[r * d.cols + c] = (p - (c === labels[r] ? 1 : 0)) * gRow[r];
        magnitude[r * d.cols + c] = (p + (c === labels[r] ? 1 : 0)) * Math.abs(gRow[r]);
      }
    }
    return { outputs: [out], magnitudes: [magnitude] };
  },
  tolerance: ROWWISE_TOL,
  work: (d, dtype) => ({ flops: 4 * d.rows * d.cols, bytes: 2 * d.rows * d.cols * bpe(dtype) + d.rows * (4 + 2 * bpe(statDType(dtype))) }),
  cases: () => arbCrossEntropy,
});

export interface CausalMaskDims { batch: number; rows: number; cols: number; value: number }

export const causalMaskKernel = defineKernel<CausalMaskDims>({
  name: 'causalMask',
  kind: 'fused',
  dtypes: FLOATS,
  buffers: (d, dtype) => [
    { role: 'in', dtype, numel: d.batch * d.rows * d.cols },
    { role: 'out', dtype, numel: d.batch * d.rows * d.cols },
  ],
  invoke: (k, d, [x, out]) => k.causalMask(x, d.batch, d.rows, d.cols, d.value, out),
  reference: (d, [x]) => {
    const out = new Float64Array(x.length);
    for (let b = 0; b < d.batch; b++) {
      for (let i = 0; i < d.rows; i++) {
        for (let j = 0; j < d.cols; j++) {
          const at = (b * d.rows + i) * d.cols + j;
          out[at] = j <= i + (d.cols - d.rows) ? x[at] : d.value;
        }
      }
    }
    return { outputs: [out] };
  },
  tolerance: { f64: { rtol: 0, atol: 0 }, f32: { rtol: 0, atol: 0 }, f16: { rtol: 0, atol: 0 } },
  work: (d, dtype) => ({ flops: d.batch * d.rows * d.cols, bytes: 2 * d.batch * d.rows * d.cols * bpe(dtype) }),
  cases: () => fc.record({
    dims: fc.record({ batch: fc.integer({ min: 0, max: 3 }), rows: fc.integer({ min: 1, max: 20 }), cols: fc.integer({ min: 1, max: 20 }), value: fc.constantFrom(-Infinity, 0) })
      .filter((d) => d.cols >= d.rows),
    valueSeed: arbSeed,
  }),
});

export interface DropoutDims { numel: number; p: number; seed: number; offset: number }

export const dropoutKernel = defineKernel<DropoutDims>({
  name: 'dropout',
  kind: 'fused',
  dtypes: FLOATS,
  buffers: (d, dtype) => [{ role: 'in', dtype, numel: d.numel }, { role: 'out', dtype, numel: d.numel }],
  invoke: (k, d, [x, out]) => k.dropout(x, d.numel, d.p, d.seed, d.offset, out),
  reference: (d, [x]) => {
    const words = new Uint32Array(d.numel);
    philoxWords(d.seed, d.offset, words);
    const scale = d.p >= 1 ? 0 : 1 / (1 - d.p);
    return { outputs: [x.map((v, i) => (uniformFromWord(words[i]) >= d.p ? v * scale : 0))] };
  },
  tolerance: { f64: { rtol: 1e-15, atol: 0 }, f32: { rtol: 2e-7, atol: 0 }, f16: { rtol: 2e-3, atol: 0 } },
  work: (d, dtype) => ({ flops: 3 * d.numel, bytes: 2 * d.numel * bpe(dtype) }),
  cases: () => fc.record({
    dims: fc.record({
      numel: fc.integer({ min: 0, max: 600 }), p: fc.constantFrom(0, 0.05, 0.5, 0.9, 1),
      seed: fc.integer({ min: 0, max: 2 ** 40 }), offset: fc.integer({ min: 0, max: 2 ** 36 }),
    }),
    valueSeed: arbSeed,
  }),
});

/**
 * Which branch of the update the values exercise: 'typical' (eps negligible),
 * 'tinyMoments' (gradients ~1e-8 and second moments ~1e-16, so sqrt(v_hat) is
 * of the order of eps and moving eps inside the sqrt changes the result), and
 * 'zeroSecondMoment' (no gradient and v = 0, so the update is m_hat / eps).
 */
export type AdamWRegime = 'typical' | 'tinyMoments' | 'zeroSecondMoment';

export interface AdamWDims { numel: number; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number; regime?: AdamWRegime }

const ADAMW_DOMAINS: Record<AdamWRegime, { grad: ValueDomain; m: ValueDomain; v: ValueDomain }> = {
  typical: { grad: 'normal', m: 'normal', v: 'positive' },
  tinyMoments: { grad: { scaled: 'normal', by: 1e-8 }, m: { scaled: 'normal', by: 1e-8 }, v: { scaled: 'positive', by: 1e-16 } },
  zeroSecondMoment: { grad: 'zero', m: { scaled: 'normal', by: 1e-6 }, v: 'zero' },
};

export const adamwKernel = defineKernel<AdamWDims>({
  name: 'adamw',
  kind: 'fused',
  dtypes: ['f64', 'f32'],
  buffers: (d, dtype) => {
    const domains = ADAMW_DOMAINS[d.regime ?? 'typical'];
    return [
      { role: 'inout', dtype, numel: d.numel },
      { role: 'in', dtype, numel: d.numel, domain: domains.grad },
      { role: 'inout', dtype, numel: d.numel, domain: domains.m },
      { role: 'inout', dtype, numel: d.numel, domain: domains.v },
    ];
  },
  invoke: (k, d, [param, grad, m, v]) => k.adamw(param, grad, m, v, d.numel, d),
  reference: (d, [p, g, m, v]) => {
    // PyTorch's AdamW written from its documented algorithm, independently of the kernels.
    const bc1 = 1 - d.beta1 ** d.step;
    const bc2 = 1 - d.beta2 ** d.step;
    const mOut = m.map((mi, i) => d.beta1 * mi + (1 - d.beta1) * g[i]);
    const vOut = v.map((vi, i) => d.beta2 * vi + (1 - d.beta2) * g[i] * g[i]);
    const pOut = p.map((pi, i) => pi - d.lr * d.weightDecay * pi - d.lr * (mOut[i] / bc1) / (Math.sqrt(vOut[i] / bc2) + d.eps));
    const pMag = p.map((pi, i) => Math.abs(pi) + d.lr * Math.abs(mOut[i] / bc1) / (Math.sqrt(vOut[i] / bc2) + d.eps));
    return { outputs: [pOut, mOut, vOut], magnitudes: [pMag, undefined, undefined] };
  },
  tolerance: { f64: { rtol: 1e-12, atol: 1e-14 }, f32: { rtol: 2e-6, atol: 1e-7 } },
  work: (d, dtype) => ({ flops: 14 * d.numel, bytes: 7 * d.numel * bpe(dtype) }),
  cases: () => fc.record({
    dims: fc.record({
      numel: fc.integer({ min: 0, max: 300 }), lr: fc.constantFrom(1e-3, 1e-5, 0.1), beta1: fc.constant(0.9), beta2: fc.constant(0.999),
      eps: fc.constantFrom(1e-8, 1e-6), weightDecay: fc.constantFrom(0, 0.01), step: fc.integer({ min: 1, max: 2000 }),
      regime: fc.constantFrom<AdamWRegime>('typical', 'typical', 'tinyMoments', 'zeroSecondMoment'),
    }),
    valueSeed: arbSeed,
  }),
});

export interface UnscaleDims { numel: number; invScale: number; inject: 'none' | 'inf' | 'nan' }

export const unscaleGradsKernel = defineKernel<UnscaleDims>({
  name: 'unscaleGrads',
  kind: 'fused',
  dtypes: FLOATS,
  buffers: (d, dtype) => [
    { role: 'inout', dtype, numel: d.numel },
    { role: 'inout', dtype: 'f32', numel: 1, domain: 'smallInt' },
  ],
  adjustInputs: (d, [g, found]) => {
    found[0] = found[0] > 0 ? 1 : 0;
    if (d.inject !== 'none' && g.length > 0) g[Math.floor(g.length / 2)] = d.inject === 'inf' ? -Infinity : NaN;
  },
  invoke: (k, d, [grad, found]) => k.unscaleGrads(grad, d.numel, d.invScale, found),
  reference: (d, [g, found]) => {
    const bad = g.some((v) => !Number.isFinite(v));
    return { outputs: [g.map((v) => v * d.invScale), new Float64Array([bad ? 1 : found[0]])] };
  },
  tolerance: { f64: { rtol: 1e-15, atol: 0 }, f32: { rtol: 1e-7, atol: 0 }, f16: { rtol: 1e-3, atol: 0 } },
  work: (d, dtype) => ({ flops: 2 * d.numel, bytes: 2 * d.numel * bpe(dtype) }),
  cases: () => fc.record({
    dims: fc.record({ numel: fc.integer({ min: 0, max: 300 }), invScale: fc.constantFrom(1, 1 / 65536, 0.5), inject: fc.constantFrom<'none' | 'inf' | 'nan'>('none', 'inf', 'nan') }),
    valueSeed: arbSeed,
  }),
});

export const fusedKernelSpecs: KernelSpec[] = [
  softmaxSpec(false), softmaxSpec(true), softmaxBackwardSpec(false), softmaxBackwardSpec(true),
  rmsNormKernel, rmsNormBackwardKernel, rotarySpec(false), rotarySpec(true),
  siluMulKernel, siluMulBackwardKernel, crossEntropyKernel, crossEntropyBackwardKernel,
  causalMaskKernel, dropoutKernel, adamwKernel, unscaleGradsKernel,
];
