// The ops a transformer is built from, each backed by a fused kernel:
// softmax, log-softmax, RMSNorm, rotary embedding, causal mask, SiLU-gate,
// dropout, embedding, and cross-entropy with an ignore index.

import * as fused from '../../tensor/fused-ops.js';
import { binary, cast, full, reduce, scatterAddRows, gatherRows, unary } from '../../tensor/kernel-ops.js';
import { takeRandomWords } from '../../tensor/generator.js';
import type { DType } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../differentiable-op.js';
import { reshapeRaw } from './views.js';

export const softmaxOp = defineOp({
  name: 'softmax',
  saves: 'the output',
  forward: ([x]) => { const y = fused.softmax(x, false); return { output: y, saved: [y] }; },
  backward: (g, [y]) => [fused.softmaxBackward(y, g, false)],
});

export const logSoftmaxOp = defineOp({
  name: 'logSoftmax',
  saves: 'the output',
  forward: ([x]) => { const y = fused.softmax(x, true); return { output: y, saved: [y] }; },
  backward: (g, [y]) => [fused.softmaxBackward(y, g, true)],
});

export const rmsNormOp = defineOp<{ eps: number }>({
  name: 'rmsNorm',
  saves: 'the input, the weight, and the per-row rstd (f32)',
  forward: ([x, w], { eps }) => {
    const { y, rstd } = fused.rmsNorm(x, w, eps);
    return { output: y, saved: [x, w, rstd] };
  },
  backward: (g, [x, w, rstd], _s, needs) => {
    const { gx, gw } = fused.rmsNormBackward(x, w, rstd, g);
    return [needs[0] ? gx : null, needs[1] ? gw : null];
  },
});

/** Rotary tables are constants, passed as attributes (they never need gradients). */
export const rotaryOp = defineOp<{ cos: Tensor; sin: Tensor }>({
  name: 'rotary',
  saves: 'nothing (the tables are constants)',
  forward: ([x], { cos, sin }) => ({ output: fused.rotary(x, cos, sin, false) }),
  backward: (g, _s, _st, _n, { cos, sin }) => [fused.rotary(g, cos, sin, true)],
});

export const causalMaskOp = defineOp({
  name: 'causalMask',
  saves: 'nothing',
  forward: ([x]) => ({ output: fused.causalMask(x, -Infinity) }),
  backward: (g) => [fused.causalMask(g, 0)],
});

export const siluMulOp = defineOp({
  name: 'siluMul',
  saves: 'both inputs',
  forward: ([a, b]) => ({ output: fused.siluMul(a, b), saved: [a, b] }),
  backward: (g, [a, b], _s, needs) => {
    const { ga, gb } = fused.siluMulBackward(a, b, g);
    return [needs[0] ? ga : null, needs[1] ? gb : null];
  },
});

/** Inverted dropout whose keep mask is a pure function of (seed, offset), so backward redraws it instead of saving it. */
export const dropoutOp = defineOp<{ p: number }, { seed: number; offset: number }>({
  name: 'dropout',
  saves: 'nothing (the mask is regenerated from its Philox key)',
  forward: ([x], { p }) => {
    const { seed, offset } = takeRandomWords(x.numel);
    return { output: fused.dropout(x, p, seed, offset), state: { seed, offset } };
  },
  backward: (g, _s, { seed, offset }, _n, { p }) => [fused.dropout(g, p, seed, offset)],
});

export const castOp = defineOp<{ dtype: DType }, { from: DType }>({
  name: 'cast',
  saves: 'nothing',
  forward: ([x], { dtype }) => ({ output: cast(x, dtype), state: { from: x.dtype } }),
  backward: (g, _s, { from }) => [cast(g, from)],
});

/** weight (V, D) rows picked by i32 indices (any shape) -> (...indices, D). */
export const embeddingOp = defineOp<void, { rows: number }>({
  name: 'embedding',
  saves: 'the indices',
  forward: ([weight, indices]) => {
    // Every index is out of range for an empty table; said here because a GPU kernel cannot throw.
    if (weight.rank === 2 && weight.shape[0] === 0 && indices.numel > 0) {
      throw new Error(`embedding: the table ${weight.describe()} has no rows, so none of the ${indices.numel} indices can be looked up`);
    }
    return { output: gatherRows(weight, indices), saved: [indices], state: { rows: weight.shape[0] } };
  },
  backward: (g, [indices], { rows }, needs) => {
    if (!needs[0]) return [null, null];
    const flat = reshapeRaw(g, [indices.numel, g.shape[g.rank - 1]]);
    const flatIdx = reshapeRaw(indices, [indices.numel]);
    return [scatterAddRows(flat, flatIdx, rows), null];
  },
});

export type CrossEntropyReduction = 'mean' | 'sum' | 'none';

interface CrossEntropyState { inputShape: readonly number[]; reduction: CrossEntropyReduction }

/**
 * Cross-entropy of logits (..., V) against i32 labels (...), ignoring
 * `ignoreIndex`. 'mean' divides by the number of non-ignored labels (counted
 * on the device, so nothing waits on a readback); no such label gives NaN, as
 * in PyTorch. The loss is f32 (f64 for f64 logits).
 */
export const crossEntropyOp = defineOp<{ ignoreIndex: number; reduction: CrossEntropyReduction }, CrossEntropyState>({
  name: 'crossEntropy',
  saves: 'the logits, the labels, the per-row logsumexp, and (for mean) the label count',
  forward: ([logits, labels], { ignoreIndex, reduction }) => {
    const vocab = logits.shape[logits.rank - 1];
    const flatLogits = reshapeRaw(logits, [logits.numel / Math.max(1, vocab), vocab]);
    const flatLabels = reshapeRaw(labels, [labels.numel]);
    if (flatLabels.shape[0] !== flatLogits.shape[0]) {
      throw new Error(`crossEntropy: labels ${labels.describe()} do not match logits ${logits.describe()} (expected ${flatLogits.shape[0]} labels)`);
    }
    const { loss, lse } = fused.crossEntropyRows(flatLogits, flatLabels, ignoreIndex);
    const state = { inputShape: logits.shape, reduction };
    if (reduction === 'none') return { output: reshapeRaw(loss, labels.shape), saved: [flatLogits, flatLabels, lse], state };
    const total = reduce('sum', loss, 0, false);
    if (reduction === 'sum') return { output: total, saved: [flatLogits, flatLabels, lse], state };
    const count = validCount(flatLabels, ignoreIndex, loss.dtype);
    return { output: binary('div', total, count), saved: [flatLogits, flatLabels, lse, count], state };
  },
  backward: (g, [flatLogits, flatLabels, lse, count], { inputShape, reduction }, needs, { ignoreIndex }) => {
    if (!needs[0]) return [null, null];
    const rows = flatLogits.shape[0];
    let gRow: Tensor;
    if (reduction === 'none') gRow = reshapeRaw(g, [rows]);
    else {
      const scalar = reduction === 'mean' ? binary('div', g, count) : g;
      gRow = binary('mul', full([rows], 1, scalar.dtype, g.context), scalar);
    }
    const gLogits = fused.crossEntropyBackward(flatLogits, lse, flatLabels, gRow, ignoreIndex);
    return [reshapeRaw(gLogits, inputShape), null];
  },
});

/** Number of labels not equal to ignoreIndex, as a one-element tensor (computed on the device). */
function validCount(labels: Tensor, ignoreIndex: number, dtype: DType): Tensor {
  const asFloat = cast(labels, dtype);
  const ignoredValue = full([1], ignoreIndex, dtype, labels.context);
  const ignored = reduce('sum', binary('eq', asFloat, ignoredValue), 0, false);
  return unary('addScalar', unary('neg', ignored), labels.numel);
}
