// Batched matmul with broadcasting batch axes. Each gradient needs only the
// other operand, so an operand is saved only if the other one needs a grad
// (a frozen weight's input is not kept alive for it).

import { contiguousCopy, matmul } from '../../tensor/kernel-ops.js';
import { viewStrides } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../differentiable-op.js';
import { sumToShape } from './reduce-to-shape.js';

/** Swaps the last two axes as a view. */
function transposeLast(t: Tensor): Tensor {
  const r = t.rank;
  const shape = [...t.shape];
  const strides = [...t.strides];
  [shape[r - 2], shape[r - 1]] = [shape[r - 1], shape[r - 2]];
  [strides[r - 2], strides[r - 1]] = [strides[r - 1], strides[r - 2]];
  return t.view(shape, strides, t.offset);
}

/** t (..., n) as a 2-D (rows, n) view, copying only if the layout forbids a view. */
function flattenLeading(t: Tensor): Tensor {
  const shape = [t.numel / Math.max(1, t.shape[t.rank - 1]), t.shape[t.rank - 1]];
  const strides = viewStrides(t.shape, t.strides, shape);
  if (strides) return t.view(shape, strides, t.offset);
  const dense = contiguousCopy(t);
  return dense.view(shape, [shape[1], 1], 0);
}

/**
 * Gradient of a 2-D weight b from a (..., m, k) and g (..., m, n): one
 * (k, rows) @ (rows, n) matmul over the flattened batch, instead of a batched
 * matmul followed by a sum over the batch.
 */
function weightGrad(a: Tensor, g: Tensor, bShape: readonly number[]): Tensor {
  if (bShape.length === 2 && a.rank > 2) return matmul(transposeLast(flattenLeading(a)), flattenLeading(g));
  return sumToShape(matmul(transposeLast(a), g), bShape);
}

export const matmulOp = defineOp<void, { aShape: readonly number[]; bShape: readonly number[] }>({
  name: 'matmul',
  saves: 'b if a needs grad; a if b needs grad',
  forward: ([a, b], _attrs, needs) => ({
    output: matmul(a, b),
    saved: [needs[1] ? a : null, needs[0] ? b : null].filter((t): t is Tensor => t !== null),
    state: { aShape: a.shape, bShape: b.shape },
  }),
  backward: (g, saved, { aShape, bShape }, needs) => {
    const a = needs[1] ? saved[0] : undefined;
    const b = needs[0] ? (needs[1] ? saved[1] : saved[0]) : undefined;
    return [
      b ? sumToShape(matmul(g, transposeLast(b)), aShape) : null,
      a ? weightGrad(a, g, bShape) : null,
    ];
  },
});

export { transposeLast };
