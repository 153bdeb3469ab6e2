// Tensor wrappers of the fused kernels, without autograd. Inputs are made
// dense (shared when they already are), outputs are allocated through the
// ledger, and the call runs through the device context so its work counts.

import type { AdamWHyper } from '../backends/backend.js';
import { statDType } from '../backends/kernel-specs-fused.js';
import { isFloatDType } from './dtype.js';
import { assertSameDType, denseOf, emptyTensor, sameContext } from './kernel-ops.js';
import { formatShape, shapesEqual } from './shape.js';
import type { Tensor } from './tensor.js';

/** Runs fn with dense handles of the inputs, disposing any it created. */
function withDense<T>(inputs: Tensor[], fn: (dense: Tensor[]) => T): T {
  const dense = inputs.map(denseOf);
  try {
    return fn(dense);
  } finally {
    for (const d of dense) d.dispose();
  }
}

const buf = (t: Tensor) => t.storage.buffer;
const lastDim = (t: Tensor) => t.shape[t.rank - 1];
const rowsOf = (t: Tensor) => (t.rank === 0 ? 1 : t.numel / Math.max(1, lastDim(t)));

function assertFloat(op: string, t: Tensor): void {
  if (!isFloatDType(t.dtype)) throw new Error(`${op}: expected a float tensor, got ${t.describe()}`);
}

/** Softmax or log-softmax over the last axis. */
export function softmax(x: Tensor, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  const ctx = sameContext(op, x);
  assertFloat(op, x);
  if (x.rank === 0) throw new Error(`${op}: needs at least one axis, got ${x.describe()}`);
  const out = emptyTensor(ctx, x.shape, x.dtype);
  const rows = rowsOf(x);
  const cols = lastDim(x);
  if (out.numel > 0) {
    withDense([x], ([xd]) => ctx.run(op, { rows, cols }, x.dtype, (k) => k.softmax(buf(xd), rows, cols, log, buf(out))));
  }
  return out;
}

export function softmaxBackward(y: Tensor, g: Tensor, log: boolean): Tensor {
  const op = log ? 'logSoftmaxBackward' : 'softmaxBackward';
  const ctx = sameContext(op, y, g);
  assertSameDType(op, y, g);
  const out = emptyTensor(ctx, y.shape, y.dtype);
  const rows = rowsOf(y);
  const cols = lastDim(y);
  if (out.numel > 0) {
    withDense([y, g], ([yd, gd]) => ctx.run(op, { rows, cols }, y.dtype, (k) => k.softmaxBackward(buf(yd), buf(gd), rows, cols, log, buf(out))));
  }
  return out;
}

/** RMSNorm over the last axis: returns y (x's dtype) and the per-row rstd (f32, f64 for f64). */
export function rmsNorm(x: Tensor, w: Tensor, eps: number): { y: Tensor; rstd: Tensor } {
  const ctx = sameContext('rmsNorm', x, w);
  assertSameDType('rmsNorm', x, w);
  const cols = lastDim(x);
  if (w.rank !== 1 || w.shape[0] !== cols) throw new Error(`rmsNorm: weight ${w.describe()} does not match the last axis of ${x.describe()}`);
  const rows = rowsOf(x);
  const y = emptyTensor(ctx, x.shape, x.dtype);
  const rstd = emptyTensor(ctx, x.shape.slice(0, -1), statDType(x.dtype));
  if (y.numel > 0) {
    withDense([x, w], ([xd, wd]) => ctx.run('rmsNorm', { rows, cols, eps }, x.dtype, (k) => k.rmsNorm(buf(xd), buf(wd), rows, cols, eps, buf(y), buf(rstd))));
  }
  return { y, rstd };
}

export function rmsNormBackward(x: Tensor, w: Tensor, rstd: Tensor, g: Tensor): { gx: Tensor; gw: Tensor } {
  const ctx = sameContext('rmsNorm backward', x, w, rstd, g);
  assertSameDType('rmsNorm backward', x, w, g);
  const rows = rowsOf(x);
  const cols = lastDim(x);
  const gx = emptyTensor(ctx, x.shape, x.dtype);
  const gw = emptyTensor(ctx, w.shape, w.dtype);
  if (rows === 0) ctx.kernels.fill(buf(gw), 0);
  else {
    withDense([x, w, rstd, g], ([xd, wd, rd, gd]) =>
      ctx.run('rmsNormBackward', { rows, cols, eps: 0 }, x.dtype, (k) => k.rmsNormBackward(buf(xd), buf(wd), buf(rd), buf(gd), rows, cols, buf(gx), buf(gw))));
  }
  return { gx, gw };
}

/** Rotary embedding of x (B, S, H, headDim) with tables (S, headDim/2); inverse = backward. */
export function rotary(x: Tensor, cos: Tensor, sin: Tensor, inverse: boolean): Tensor {
  const ctx = sameContext('rotary', x, cos, sin);
  if (x.rank !== 4) throw new Error(`rotary: expected x of shape (batch, seq, heads, headDim), got ${x.describe()}`);
  const [batch, seq, heads, headDim] = x.shape;
  if (headDim % 2 !== 0) throw new Error(`rotary: headDim must be even, got ${x.describe()}`);
  const tableShape = [seq, headDim / 2];
  for (const t of [cos, sin]) {
    if (!shapesEqual(t.shape, tableShape)) throw new Error(`rotary: table ${t.describe()} must be ${formatShape(tableShape)} for ${x.describe()}`);
    if (t.dtype !== statDType(x.dtype)) throw new Error(`rotary: tables must be ${statDType(x.dtype)} for ${x.describe()}, got ${t.describe()}`);
  }
  const out = emptyTensor(ctx, x.shape, x.dtype);
  if (out.numel > 0) {
    withDense([x, cos, sin], ([xd, cd, sd]) =>
      ctx.run(inverse ? 'rotaryInverse' : 'rotary', { batch, seq, heads, headDim }, x.dtype, (k) => k.rotary(buf(xd), buf(cd), buf(sd), batch, seq, heads, headDim, inverse, buf(out))));
  }
  return out;
}

export function siluMul(a: Tensor, b: Tensor): Tensor {
  const ctx = sameContext('siluMul', a, b);
  assertSameDType('siluMul', a, b);
  if (!shapesEqual(a.shape, b.shape)) throw new Error(`siluMul: ${a.describe()} and ${b.describe()} differ in shape`);
  const out = emptyTensor(ctx, a.shape, a.dtype);
  if (out.numel > 0) withDense([a, b], ([ad, bd]) => ctx.run('siluMul', { numel: a.numel }, a.dtype, (k) => k.siluMul(buf(ad), buf(bd), a.numel, buf(out))));
  return out;
}

export function siluMulBackward(a: Tensor, b: Tensor, g: Tensor): { ga: Tensor; gb: Tensor } {
  const ctx = sameContext('siluMul backward', a, b, g);
  assertSameDType('siluMul backward', a, b, g);
  const ga = emptyTensor(ctx, a.shape, a.dtype);
  const gb = emptyTensor(ctx, b.shape, b.dtype);
  if (a.numel > 0) {
    withDense([a, b, g], ([ad, bd, gd]) => ctx.run('siluMulBackward', { numel: a.numel }, a.dtype, (k) => k.siluMulBackward(buf(ad), buf(bd), buf(gd), a.numel, buf(ga), buf(gb))));
  }
  return { ga, gb };
}

/** Per-row cross-entropy of logits (N, V) against i32 labels (N): loss (N) and logsumexp (N). */
export function crossEntropyRows(logits: Tensor, labels: Tensor, ignoreIndex: number): { loss: Tensor; lse: Tensor } {
  const ctx = sameContext('crossEntropy', logits, labels);
  if (logits.rank !== 2) throw new Error(`crossEntropy: logits must be (N, V), got ${logits.describe()}`);
  if (labels.dtype !== 'i32' || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new Error(`crossEntropy: labels must be i32 of shape [${logits.shape[0]}] for logits ${logits.describe()}, got ${labels.describe()}`);
  }
  const [rows, cols] = logits.shape;
  const loss = emptyTensor(ctx, [rows], statDType(logits.dtype));
  const lse = emptyTensor(ctx, [rows], statDType(logits.dtype));
  if (rows > 0) {
    withDense([logits, labels], ([ld, lb]) =>
      ctx.run('crossEntropy', { rows, cols, ignoreIndex }, logits.dtype, (k) => k.crossEntropy(buf(ld), buf(lb), rows, cols, ignoreIndex, buf(loss), buf(lse))));
  }
  return { loss, lse };
}

export function crossEntropyBackward(logits: Tensor, lse: Tensor, labels: Tensor, gRow: Tensor, ignoreIndex: number): Tensor {
  const ctx = sameContext('crossEntropy backward', logits, lse, labels, gRow);
  const [rows, cols] = logits.shape;
  const out = emptyTensor(ctx, logits.shape, logits.dtype);
  if (rows > 0) {
    withDense([logits, lse, labels, gRow], ([ld, sd, lb, gd]) =>
      ctx.run('crossEntropyBackward', { rows, cols, ignoreIndex }, logits.dtype, (k) =>
        k.crossEntropyBackward(buf(ld), buf(sd), buf(lb), buf(gd), rows, cols, ignoreIndex, buf(out))));
  }
  return out;
}

/** Keeps x (..., rows, cols) where col <= row + cols - rows, else `value`. */
export function causalMask(x: Tensor, value: number): Tensor {
  const ctx = sameContext('causalMask', x);
  if (x.rank < 2) throw new Error(`causalMask: needs (..., rows, cols), got ${x.describe()}`);
  const rows = x.shape[x.rank - 2];
  const cols = x.shape[x.rank - 1];
  if (cols < rows) throw new Error(`causalMask: needs cols >= rows, got ${x.describe()}`);
  const batch = x.numel / Math.max(1, rows * cols);
  const out = emptyTensor(ctx, x.shape, x.dtype);
  if (out.numel > 0) {
    withDense([x], ([xd]) => ctx.run('causalMask', { batch, rows, cols, value }, x.dtype, (k) => k.causalMask(buf(xd), batch, rows, cols, value, buf(out))));
  }
  return out;
}

/** Dropout with the keep mask drawn from Philox words (seed, offset..offset+numel). */
export function dropout(x: Tensor, p: number, seed: number, offset: number): Tensor {
  const ctx = sameContext('dropout', x);
  const out = emptyTensor(ctx, x.shape, x.dtype);
  if (out.numel > 0) {
    withDense([x], ([xd]) => ctx.run('dropout', { numel: x.numel, p, seed, offset }, x.dtype, (k) => k.dropout(buf(xd), x.numel, p, seed, offset, buf(out))));
  }
  return out;
}

/** In-place AdamW step on dense param, m, v. */
export function adamwUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hyper: AdamWHyper): void {
  const ctx = sameContext('adamw', param, grad, m, v);
  for (const t of [param, m, v]) if (!t.isDense) throw new Error(`adamw: ${t.describe()} must be dense`);
  if (!shapesEqual(param.shape, grad.shape)) throw new Error(`adamw: grad ${grad.describe()} does not match parameter ${param.describe()}`);
  if (param.numel === 0) return;
  withDense([grad], ([gd]) => ctx.run('adamw', { numel: param.numel, ...hyper }, param.dtype, (k) => k.adamw(buf(param), buf(gd), buf(m), buf(v), param.numel, hyper)));
  param.storage.version++;
  m.storage.version++;
  v.storage.version++;
}

/** grad *= invScale in place; foundInf (f32, 1 element) becomes 1 on any inf/NaN. */
export function unscaleGrads(grad: Tensor, invScale: number, foundInf: Tensor): void {
  const ctx = sameContext('unscale', grad, foundInf);
  if (!grad.isDense) throw new Error(`unscale: ${grad.describe()} must be dense`);
  if (grad.numel === 0) return;
  ctx.run('unscaleGrads', { numel: grad.numel, invScale, inject: 'none' }, grad.dtype, (k) => k.unscaleGrads(buf(grad), grad.numel, invScale, buf(foundInf)));
  grad.storage.version++;
  foundInf.storage.version++;
}

