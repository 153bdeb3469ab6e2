// Native CPU loops for the fused kernels: one pass per row, f64 arithmetic,
// one rounding per stored value. Semantics are documented on FusedKernels.

import { roundToF16 } from '../../tensor/f16.js';
import { philoxWords, uniformFromWord } from '../../tensor/philox.js';
import type { AdamWHyper, BackendBuffer, FusedKernels } from '../backend.js';
import { sigmoid, silu } from '../scalar-math.js';
import { asCpu, outputSink, readValues } from './cpu-buffer.js';
import { labelOutOfRange } from '../index-errors.js';

function softmax(x: BackendBuffer, rows: number, cols: number, log: boolean, out: BackendBuffer): void {
  const xv = readValues(x, 'softmax input');
  const sink = outputSink(out, 'softmax output');
  const o = sink.values;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, xv[base + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp(xv[base + c] - max);
    const logSum = Math.log(sum);
    for (let c = 0; c < cols; c++) {
      o[base + c] = log ? xv[base + c] - max - logSum : Math.exp(xv[base + c] - max) / sum;
    }
  }
  sink.commit();
}

function softmaxBackward(y: BackendBuffer, g: BackendBuffer, rows: number, cols: number, log: boolean, gx: BackendBuffer): void {
  const yv = readValues(y, 'softmax-backward y');
  const gv = readValues(g, 'softmax-backward grad');
  const sink = outputSink(gx, 'softmax-backward output');
  const o = sink.values;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += log ? gv[base + c] : gv[base + c] * yv[base + c];
    for (let c = 0; c < cols; c++) {
      o[base + c] = log ? gv[base + c] - Math.exp(yv[base + c]) * dot : yv[base + c] * (gv[base + c] - dot);
    }
  }
  sink.commit();
}

function rmsNorm(x: BackendBuffer, w: BackendBuffer, rows: number, cols: number, eps: number, y: BackendBuffer, rstd: BackendBuffer): void {
  const xv = readValues(x, 'rmsnorm input');
  const wv = readValues(w, 'rmsnorm weight');
  const ySink = outputSink(y, 'rmsnorm output');
  const rSink = outputSink(rstd, 'rmsnorm rstd');
  // Meta's RMSNorm: normalize in f32, cast back to the input dtype (type_as), then scale.
  const roundToInput = roundingOf(x.dtype);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += xv[base + c] * xv[base + c];
    rSink.values[r] = 1 / Math.sqrt(ss / cols + eps);
    const rs = rSink.values[r]; // the stored (rounded) value, as backward will see it
    for (let c = 0; c < cols; c++) ySink.values[base + c] = roundToInput(xv[base + c] * rs) * wv[c];
  }
  rSink.commit();
  ySink.commit();
}

function roundingOf(dtype: string): (v: number) => number {
  if (dtype === 'f32') return Math.fround;
  if (dtype === 'f16') return roundToF16;
  return (v) => v;
}

function rmsNormBackward(
  x: BackendBuffer, w: BackendBuffer, rstd: BackendBuffer, g: BackendBuffer, rows: number, cols: number, gx: BackendBuffer, gw: BackendBuffer,
): void {
  const xv = readValues(x, 'rmsnorm-backward input');
  const wv = readValues(w, 'rmsnorm-backward weight');
  const rv = readValues(rstd, 'rmsnorm-backward rstd');
  const gv = readValues(g, 'rmsnorm-backward grad');
  const gxSink = outputSink(gx, 'rmsnorm-backward gx');
  const gwSink = outputSink(gw, 'rmsnorm-backward gw');
  const gwAcc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const rs = rv[r];
    let dot = 0; // mean over the row of (g*w) * n, with n = x * rstd
    for (let c = 0; c < cols; c++) dot += gv[base + c] * wv[c] * xv[base + c] * rs;
    dot /= cols;
    for (let c = 0; c < cols; c++) {
      const n = xv[base + c] * rs;
      gxSink.values[base + c] = rs * (gv[base + c] * wv[c] - n * dot);
      gwAcc[c] += gv[base + c] * n;
    }
  }
  for (let c = 0; c < cols; c++) gwSink.values[c] = gwAcc[c];
  gxSink.commit();
  gwSink.commit();
}

function rotary(
  x: BackendBuffer, cos: BackendBuffer, sin: BackendBuffer, batch: number, seq: number, heads: number, headDim: number, inverse: boolean, out: BackendBuffer,
): void {
  const xv = readValues(x, 'rotary input');
  const cv = readValues(cos, 'rotary cos');
  const sv = readValues(sin, 'rotary sin');
  const sink = outputSink(out, 'rotary output');
  const half = headDim / 2;
  const sign = inverse ? -1 : 1;
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < seq; s++) {
      for (let h = 0; h < heads; h++) {
        const base = ((b * seq + s) * heads + h) * headDim;
        for (let i = 0; i < half; i++) {
          const c = cv[s * half + i];
          const sn = sign * sv[s * half + i];
          const x0 = xv[base + 2 * i];
          const x1 = xv[base + 2 * i + 1];
          sink.values[base + 2 * i] = x0 * c - x1 * sn;
          sink.values[base + 2 * i + 1] = x0 * sn + x1 * c;
        }
      }
    }
  }
  sink.commit();
}

function siluMul(a: BackendBuffer, b: BackendBuffer, numel: number, out: BackendBuffer): void {
  const av = readValues(a, 'silu-mul a');
  const bv = readValues(b, 'silu-mul b');
  const sink = outputSink(out, 'silu-mul output');
  for (let i = 0; i < numel; i++) sink.values[i] = silu(av[i]) * bv[i];
  sink.commit();
}

function siluMulBackward(a: BackendBuffer, b: BackendBuffer, g: BackendBuffer, numel: number, ga: BackendBuffer, gb: BackendBuffer): void {
  const av = readValues(a, 'silu-mul-backward a');
  const bv = readValues(b, 'silu-mul-backward b');
  const gv = readValues(g, 'silu-mul-backward grad');
  const gaSink = outputSink(ga, 'silu-mul-backward ga');
  const gbSink = outputSink(gb, 'silu-mul-backward gb');
  for (let i = 0; i < numel; i++) {
    const s = sigmoid(av[i]);
    gaSink.values[i] = gv[i] * bv[i] * s * (1 + av[i] * (1 - s));
    gbSink.values[i] = gv[i] * av[i] * s;
  }
  gaSink.commit();
  gbSink.commit();
}

/** A label outside [0, cols) that is not the ignore index has no loss; NaN would let training step on garbage, so it is an error (as embedding's indices are). */
function assertLabelInRange(op: string, label: number, position: number, cols: number, ignoreIndex: number): void {
  if (label < 0 || label >= cols) {
    throw new Error(labelOutOfRange(op, label, position, cols, ignoreIndex));
  }
}

function crossEntropy(
  logits: BackendBuffer, labels: BackendBuffer, rows: number, cols: number, ignoreIndex: number, loss: BackendBuffer, lse: BackendBuffer,
): void {
  const xv = readValues(logits, 'cross-entropy logits');
  const lv = asCpu(labels, 'cross-entropy labels').data as Int32Array;
  const lossSink = outputSink(loss, 'cross-entropy loss');
  const lseSink = outputSink(lse, 'cross-entropy lse');
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, xv[base + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp(xv[base + c] - max);
    const logSumExp = max + Math.log(sum);
    lseSink.values[r] = logSumExp;
    const label = lv[r];
    if (label === ignoreIndex) lossSink.values[r] = 0;
    else {
      assertLabelInRange('crossEntropy', label, r, cols, ignoreIndex);
      lossSink.values[r] = logSumExp - xv[base + label];
    }
  }
  lossSink.commit();
  lseSink.commit();
}

function crossEntropyBackward(
  logits: BackendBuffer, lse: BackendBuffer, labels: BackendBuffer, gRow: BackendBuffer, rows: number, cols: number, ignoreIndex: number, gLogits: BackendBuffer,
): void {
  const xv = readValues(logits, 'cross-entropy-backward logits');
  const lsev = readValues(lse, 'cross-entropy-backward lse');
  const lv = asCpu(labels, 'cross-entropy-backward labels').data as Int32Array;
  const gv = readValues(gRow, 'cross-entropy-backward grad');
  const sink = outputSink(gLogits, 'cross-entropy-backward output');
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    const label = lv[r];
    if (label === ignoreIndex) {
      for (let c = 0; c < cols; c++) sink.values[base + c] = 0;
      continue;
    }
    assertLabelInRange('crossEntropy backward', label, r, cols, ignoreIndex);
    for (let c = 0; c < cols; c++) {
      const p = Math.exp(xv[base + c] - lsev[r]);
      sink.values[base + c] = (p - (c === label ? 1 : 0)) * gv[r];
    }
  }
  sink.commit();
}

function causalMask(x: BackendBuffer, batch: number, rows: number, cols: number, value: number, out: BackendBuffer): void {
  const xv = readValues(x, 'causal-mask input');
  const sink = outputSink(out, 'causal-mask output');
  const shift = cols - rows;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < rows; i++) {
      const base = (b * rows + i) * cols;
      for (let j = 0; j < cols; j++) sink.values[base + j] = j <= i + shift ? xv[base + j] : value;
    }
  }
  sink.commit();
}

function dropout(x: BackendBuffer, numel: number, p: number, seed: number, offset: number, out: BackendBuffer): void {
  const xv = readValues(x, 'dropout input');
  const sink = outputSink(out, 'dropout output');
  const words = new Uint32Array(numel);
  philoxWords(seed, offset, words);
  const scale = p >= 1 ? 0 : 1 / (1 - p);
  for (let i = 0; i < numel; i++) sink.values[i] = uniformFromWord(words[i]) >= p ? xv[i] * scale : 0;
  sink.commit();
}

function adamw(param: BackendBuffer, grad: BackendBuffer, m: BackendBuffer, v: BackendBuffer, numel: number, h: AdamWHyper): void {
  const gv = readValues(grad, 'adamw grad');
  const pSink = outputSink(param, 'adamw param', 'preserve');
  const mSink = outputSink(m, 'adamw exp_avg', 'preserve');
  const vSink = outputSink(v, 'adamw exp_avg_sq', 'preserve');
  // PyTorch's single-tensor AdamW, in its order of operations.
  const biasCorrection1 = 1 - h.beta1 ** h.step;
  const biasCorrection2Sqrt = Math.sqrt(1 - h.beta2 ** h.step);
  const stepSize = h.lr / biasCorrection1;
  const decay = 1 - h.lr * h.weightDecay;
  for (let i = 0; i < numel; i++) {
    const g = gv[i];
    const mi = mSink.values[i] + (1 - h.beta1) * (g - mSink.values[i]);
    const vi = vSink.values[i] * h.beta2 + (1 - h.beta2) * g * g;
    mSink.values[i] = mi;
    vSink.values[i] = vi;
    const denom = Math.sqrt(vSink.values[i]) / biasCorrection2Sqrt + h.eps;
    pSink.values[i] = pSink.values[i] * decay - stepSize * (mSink.values[i] / denom);
  }
  pSink.commit();
  mSink.commit();
  vSink.commit();
}

function unscaleGrads(grad: BackendBuffer, numel: number, invScale: number, foundInf: BackendBuffer): void {
  const gSink = outputSink(grad, 'unscale grad', 'preserve');
  const fSink = outputSink(foundInf, 'unscale found-inf flag', 'preserve');
  for (let i = 0; i < numel; i++) {
    const g = gSink.values[i];
    if (!Number.isFinite(g)) fSink.values[0] = 1;
    gSink.values[i] = g * invScale;
  }
  gSink.commit();
  fSink.commit();
}

export const cpuFusedKernels: FusedKernels = {
  softmax, softmaxBackward, rmsNorm, rmsNormBackward, rotary, siluMul, siluMulBackward,
  crossEntropy, crossEntropyBackward, causalMask, dropout, adamw, unscaleGrads,
};
