// Kernel programs of the native fused kernels. Row statistics (logsumexp,
// dot products, rstd) are one thread per row writing an f32 vector; the
// elementwise pass that uses them is one thread per element. Everything is
// computed in f32 and rounded once when stored.

import type { BackendBuffer } from '../../backend.js';
import { isNanExpression, isNonFiniteExpression, loopIndex } from './helpers.js';
import { ProgramBuilder, type KernelCall } from './program.js';
import { infinity, notANumber, storeExpression, storeKey } from './store.js';

/** Thread per row: log(sum(exp(row))) by the streaming (online) max-rescaled sum, one pass. */
export function rowLogSumExpCall(x: BackendBuffer, rows: number, cols: number): KernelCall {
  const b = new ProgramBuilder('rowLogSumExp');
  const X = b.array('x', x);
  const C = b.int('cols', cols);
  const inf = infinity(b);
  const body = [
    `  let m = -${inf};`,
    '  let s = 0;',
    `  for (let c = 0; c < ${C}; c++) {`,
    `    const v = ${X}[this.thread.x * ${C} + ${loopIndex('c')}];`,
    '    if (v > m) { s = s * Math.exp(m - v) + 1; m = v; } else {',
    // An element equal to a still -inf max contributes exp(-inf) = 0; exp(-inf - -inf) would be NaN.
    `      if (m > -${inf}) { s += Math.exp(v - m); }`,
    '    }',
    `    if (${isNanExpression('v')}) { s = v; }`,
    '  }',
    '  return m + Math.log(s);',
  ].join('\n');
  return b.build(body, rows);
}

/** Thread per row: sum over the row of g (or g * y). */
export function rowDotCall(g: BackendBuffer, y: BackendBuffer | null, rows: number, cols: number): KernelCall {
  const b = new ProgramBuilder(`rowDot|${y ? 'gy' : 'g'}`);
  const G = b.array('g', g);
  const Y = y ? b.array('y', y) : null;
  const C = b.int('cols', cols);
  const at = `this.thread.x * ${C} + ${loopIndex('c')}`;
  const body = [
    '  let acc = 0;',
    `  for (let c = 0; c < ${C}; c++) { acc += ${G}[${at}]${Y ? ` * ${Y}[${at}]` : ''}; }`,
    '  return acc;',
  ].join('\n');
  return b.build(body, rows);
}

/** out = softmax (exp(x - lse)) or log-softmax (x - lse) of each row, from the row's logsumexp. */
export function softmaxApplyCall(x: BackendBuffer, lse: BackendBuffer, rows: number, cols: number, log: boolean, out: BackendBuffer): KernelCall {
  const b = new ProgramBuilder(`softmaxApply|${log ? 'log' : 'exp'}|${storeKey(out.dtype)}`);
  const X = b.array('x', x);
  const L = b.array('lse', lse);
  const C = b.int('cols', cols);
  const shifted = `${X}[this.thread.x] - ${L}[idiv(this.thread.x, ${C})]`;
  return b.build(`  return ${storeExpression(b, out.dtype, log ? `(${shifted})` : `Math.exp(${shifted})`)};`, rows * cols);
}

/** gx = g - exp(y) * dot (log-softmax) or y * (g - dot) (softmax), dot per row. */
export function softmaxBackwardApplyCall(y: BackendBuffer, g: BackendBuffer, dot: BackendBuffer, rows: number, cols: number, log: boolean, gx: BackendBuffer): KernelCall {
  const b = new ProgramBuilder(`softmaxBackwardApply|${log ? 'log' : 'exp'}|${storeKey(gx.dtype)}`);
  const Y = b.array('y', y);
  const G = b.array('g', g);
  const D = b.array('dot', dot);
  const C = b.int('cols', cols);
  const body = [
    `  const yv = ${Y}[this.thread.x];`,
    `  const gv = ${G}[this.thread.x];`,
    `  const d = ${D}[idiv(this.thread.x, ${C})];`,
    `  return ${storeExpression(b, gx.dtype, log ? 'gv - Math.exp(yv) * d' : 'yv * (gv - d)')};`,
  ].join('\n');
  return b.build(body, rows * cols);
}

/** rstd[r] = 1 / sqrt(mean(x^2) + eps), thread per row. */
export function rmsStatCall(x: BackendBuffer, rows: number, cols: number, eps: number, rstd: BackendBuffer): KernelCall {
  const b = new ProgramBuilder(`rmsStat|${storeKey(rstd.dtype)}`);
  const X = b.array('x', x);
  const C = b.int('cols', cols);
  const E = b.float('eps', eps);
  const body = [
    '  let ss = 0;',
    `  for (let c = 0; c < ${C}; c++) { const v = ${X}[this.thread.x * ${C} + ${loopIndex('c')}]; ss += v * v; }`,
    `  return ${storeExpression(b, rstd.dtype, `1 / Math.sqrt(ss / ${C} + ${E})`)};`,
  ].join('\n');
  return b.build(body, rows);
}

/** y = round_to_x_dtype(x * rstd) * w (Meta's RMSNorm: normalize, cast back with type_as, then scale). */
export function rmsApplyCall(x: BackendBuffer, w: BackendBuffer, rstd: BackendBuffer, rows: number, cols: number, y: BackendBuffer): KernelCall {
  const b = new ProgramBuilder(`rmsApply|${storeKey(x.dtype)}|${storeKey(y.dtype)}`);
  const X = b.array('x', x);
  const W = b.array('w', w);
  const R = b.array('rstd', rstd);
  const C = b.int('cols', cols);
  const normalized = storeExpression(b, x.dtype, `${X}[this.thread.x] * ${R}[idiv(this.thread.x, ${C})]`);
  return b.build(`  return ${storeExpression(b, y.dtype, `${normalized} * ${W}[imod(this.thread.x, ${C})]`)};`, rows * cols);
}

/** gx = rstd * (g * w - x * rstd * dot), dot = mean over the row of g * w * x * rstd. */
export function rmsBackwardInputCall(
  x: BackendBuffer, w: BackendBuffer, rstd: BackendBuffer, g: BackendBuffer, dot: BackendBuffer, rows: number, cols: number, gx: BackendBuffer,
): KernelCall {
  const b = new ProgramBuilder(`rmsBackwardInput|${storeKey(gx.dtype)}`);
  const X = b.array('x', x);
  const W = b.array('w', w);
  const R = b.array('rstd', rstd);
  const G = b.array('g', g);
  const D = b.array('dot', dot);
  const C = b.int('cols', cols);
  const body = [
    `  const rs = ${R}[idiv(this.thread.x, ${C})];`,
    `  const n = ${X}[this.thread.x] * rs;`,
    `  return ${storeExpression(b, gx.dtype, `rs * (${G}[this.thread.x] * ${W}[imod(this.thread.x, ${C})] - n * ${D}[idiv(this.thread.x, ${C})])`)};`,
  ].join('\n');
  return b.build(body, rows * cols);
}

/** Thread per row: mean over the row of g * w * x * rstd (the shared term of RMSNorm's input gradient). */
export function rmsBackwardDotCall(x: BackendBuffer, w: BackendBuffer, rstd: BackendBuffer, g: BackendBuffer, rows: number, cols: number): KernelCall {
  const b = new ProgramBuilder('rmsBackwardDot');
  const X = b.array('x', x);
  const W = b.array('w', w);
  const R = b.array('rstd', rstd);
  const G = b.array('g', g);
  const C = b.int('cols', cols);
  const at = `this.thread.x * ${C} + ${loopIndex('c')}`;
  const body = [
    '  let acc = 0;',
    `  for (let c = 0; c < ${C}; c++) { acc += ${G}[${at}] * ${W}[${loopIndex('c')}] * ${X}[${at}]; }`,
    `  return acc * ${R}[this.thread.x] / ${C};`,
  ].join('\n');
  return b.build(body, rows);
}

/** Thread per column: gw[c] = sum over rows of g * x * rstd. */
export function rmsBackwardWeightCall(x: BackendBuffer, rstd: BackendBuffer, g: BackendBuffer, rows: number, cols: number, gw: BackendBuffer): KernelCall {
  const b = new ProgramBuilder(`rmsBackwardWeight|${storeKey(gw.dtype)}`);
  const X = b.array('x', x);
  const R = b.array('rstd', rstd);
  const G = b.array('g', g);
  const C = b.int('cols', cols);
  const N = b.int('rows', rows);
  const at = `${loopIndex('r')} * ${C} + this.thread.x`;
  const body = [
    '  let acc = 0;',
    `  for (let r = 0; r < ${N}; r++) { acc += ${G}[${at}] * ${X}[${at}] * ${R}[${loopIndex('r')}]; }`,
    `  return ${storeExpression(b, gw.dtype, 'acc')};`,
  ].join('\n');
  return b.build(body, cols);
}

/** loss[r] = lse[r] - x[r, label] (0 where label == ignoreIndex, NaN for a label outside [0, cols)). */
export function crossEntropyLossCall(
  logits: BackendBuffer, lse: BackendBuffer, labels: BackendBuffer, rows: number, cols: number, ignoreIndex: number, loss: BackendBuffer,
): KernelCall {
  const b = new ProgramBuilder(`crossEntropyLoss|${storeKey(loss.dtype)}`);
  const X = b.array('logits', logits);
  const L = b.array('lse', lse);
  const Y = b.array('labels', labels);
  const C = b.int('cols', cols);
  const ignore = b.int('ignore', ignoreIndex);
  const nan = notANumber(b);
  const label = `(${Y}[this.thread.x] | 0)`;
  const body = [
    `  const picked = ${X}[this.thread.x * ${C} + iclamp(${label}, ${C})];`,
    `  if (${label} === ${ignore}) { return 0; }`,
    `  if (${label} < 0 || ${label} >= ${C}) { return ${nan}; }`,
    `  return ${storeExpression(b, loss.dtype, `${L}[this.thread.x] - picked`)};`,
  ].join('\n');
  return b.build(body, rows);
}

/** gLogits = (exp(x - lse) - onehot(label)) * gRow, zero rows where label == ignoreIndex, NaN rows for a label outside [0, cols). */
export function crossEntropyBackwardCall(
  logits: BackendBuffer, lse: BackendBuffer, labels: BackendBuffer, gRow: BackendBuffer, rows: number, cols: number, ignoreIndex: number, gLogits: BackendBuffer,
): KernelCall {
  const b = new ProgramBuilder(`crossEntropyBackward|${storeKey(gLogits.dtype)}`);
  const X = b.array('logits', logits);
  const L = b.array('lse', lse);
  const Y = b.array('labels', labels);
  const G = b.array('gRow', gRow);
  const C = b.int('cols', cols);
  const ignore = b.int('ignore', ignoreIndex);
  const row = `idiv(this.thread.x, ${C})`;
  const label = `(${Y}[${row}] | 0)`;
  const body = [
    `  const p = Math.exp(${X}[this.thread.x] - ${L}[${row}]);`,
    `  const g = ${G}[${row}];`,
    `  if (${label} === ${ignore}) { return 0; }`,
    // A label outside [0, cols) has no gradient: NaN (as its loss), never a finite wrong value.
    `  if (${label} < 0 || ${label} >= ${C}) { return ${notANumber(b)}; }`,
    `  if (${label} === imod(this.thread.x, ${C})) { return ${storeExpression(b, gLogits.dtype, '(p - 1) * g')}; }`,
    `  return ${storeExpression(b, gLogits.dtype, 'p * g')};`,
  ].join('\n');
  return b.build(body, rows * cols);
}

/** AdamW's first moment: m + (1 - beta1) (g - m). */
export function adamMomentCall(m: BackendBuffer, grad: BackendBuffer, numel: number, beta1: number, out: BackendBuffer): KernelCall {
  const b = new ProgramBuilder(`adamMoment|${storeKey(out.dtype)}`);
  const M = b.array('m', m);
  const G = b.array('g', grad);
  const k = b.float('oneMinusBeta1', 1 - beta1);
  return b.build(`  const mv = ${M}[this.thread.x];\n  return ${storeExpression(b, out.dtype, `mv + ${k} * (${G}[this.thread.x] - mv)`)};`, numel);
}

/** AdamW's second moment: v * beta2 + (1 - beta2) g^2. */
export function adamSecondMomentCall(v: BackendBuffer, grad: BackendBuffer, numel: number, beta2: number, out: BackendBuffer): KernelCall {
  const b = new ProgramBuilder(`adamSecondMoment|${storeKey(out.dtype)}`);
  const V = b.array('v', v);
  const G = b.array('g', grad);
  const beta = b.float('beta2', beta2);
  const k = b.float('oneMinusBeta2', 1 - beta2);
  return b.build(`  const gv = ${G}[this.thread.x];\n  return ${storeExpression(b, out.dtype, `${V}[this.thread.x] * ${beta} + ${k} * gv * gv`)};`, numel);
}

/** AdamW's parameter step from the updated moments: p * decay - stepSize * m / (sqrt(v) / sqrt(bc2) + eps). */
export function adamParamCall(
  param: BackendBuffer, m: BackendBuffer, v: BackendBuffer, numel: number,
  decay: number, stepSize: number, inverseBiasCorrection2Sqrt: number, eps: number, out: BackendBuffer,
): KernelCall {
  const b = new ProgramBuilder(`adamParam|${storeKey(out.dtype)}`);
  const P = b.array('p', param);
  const M = b.array('m', m);
  const V = b.array('v', v);
  const d = b.float('decay', decay);
  const step = b.float('stepSize', stepSize);
  const inv = b.float('invBc2Sqrt', inverseBiasCorrection2Sqrt);
  const e = b.float('eps', eps);
  const denominator = `(Math.sqrt(${V}[this.thread.x]) * ${inv} + ${e})`;
  return b.build(`  return ${storeExpression(b, out.dtype, `${P}[this.thread.x] * ${d} - ${step} * (${M}[this.thread.x] / ${denominator})`)};`, numel);
}

/** Thread per chunk of `chunk` elements: 1 if the chunk holds an inf or NaN, else 0. */
export function nonFiniteChunksCall(x: BackendBuffer, numel: number, chunk: number): KernelCall {
  const b = new ProgramBuilder('nonFiniteChunks');
  const X = b.array('x', x);
  const N = b.int('numel', numel);
  const K = b.int('chunk', chunk);
  const body = [
    '  let found = 0;',
    `  for (let j = 0; j < ${K}; j++) {`,
    `    if (this.thread.x * ${K} + ${loopIndex('j')} < ${N}) { const v = ${X}[this.thread.x * ${K} + ${loopIndex('j')}]; if (${isNonFiniteExpression('v')}) { found = 1; } }`,
    '  }',
    '  return found;',
  ].join('\n');
  return b.build(body, Math.ceil(numel / chunk));
}

/** One thread: flag = 1 if any chunk flag is set, else the old flag. */
export function mergeFlagsCall(flags: BackendBuffer, count: number, old: BackendBuffer): KernelCall {
  const b = new ProgramBuilder('mergeFlags');
  const F = b.array('flags', flags);
  const O = b.array('old', old);
  const N = b.int('count', count);
  const body = [
    `  let flag = ${O}[0];`,
    `  for (let j = 0; j < ${N}; j++) { if (${F}[${loopIndex('j')}] > 0) { flag = 1; } }`,
    '  return flag;',
  ].join('\n');
  return b.build(body, 1);
}

/** out = x * scale, dense. */
export function scaleCall(x: BackendBuffer, numel: number, scale: number, out: BackendBuffer): KernelCall {
  const b = new ProgramBuilder(`scale|${storeKey(out.dtype)}`);
  const X = b.array('x', x);
  const s = b.float('scale', scale);
  return b.build(`  return ${storeExpression(b, out.dtype, `${X}[this.thread.x] * ${s}`)};`, numel);
}

/** out = silu(a) * b. */
export function siluMulCall(a: BackendBuffer, bBuffer: BackendBuffer, numel: number, out: BackendBuffer): KernelCall {
  const b = new ProgramBuilder(`siluMul|${storeKey(out.dtype)}`);
  const A = b.array('a', a);
  const B = b.array('b', bBuffer);
  return b.build(`  const av = ${A}[this.thread.x];\n  return ${storeExpression(b, out.dtype, `av / (1 + Math.exp(-av)) * ${B}[this.thread.x]`)};`, numel);
}

/** ga = g * b * silu'(a) (which = 'a') or gb = g * silu(a) (which = 'b'). */
export function siluMulBackwardCall(a: BackendBuffer, bBuffer: BackendBuffer, g: BackendBuffer, numel: number, which: 'a' | 'b', out: BackendBuffer): KernelCall {
  const b = new ProgramBuilder(`siluMulBackward.${which}|${storeKey(out.dtype)}`);
  const A = b.array('a', a);
  const B = b.array('b', bBuffer);
  const G = b.array('g', g);
  const body = [
    `  const av = ${A}[this.thread.x];`,
    '  const s = 1 / (1 + Math.exp(-av));',
    which === 'a'
      ? `  return ${storeExpression(b, out.dtype, `${G}[this.thread.x] * ${B}[this.thread.x] * s * (1 + av * (1 - s))`)};`
      : `  return ${storeExpression(b, out.dtype, `${G}[this.thread.x] * av * s`)};`,
  ].join('\n');
  return b.build(body, numel);
}
