// Sum and max over axes.

import { binary, contiguousCopy, reduce } from '../../tensor/kernel-ops.js';
import { broadcastStrides, contiguousStrides, resolveReductionAxes } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../differentiable-op.js';

/** g (reduced shape, keepDim or not) viewed as the input's shape with stride 0 on reduced axes. */
function expandBack(g: Tensor, inputShape: readonly number[], axes: readonly number[]): Tensor {
  const keptShape = inputShape.map((d, i) => (axes.includes(i) ? 1 : d));
  // g's elements are dense in keptShape order whether or not the axes were kept.
  const keptStrides = contiguousStrides(keptShape);
  const dense = g.isContiguous ? g : contiguousCopy(g);
  return dense.view(inputShape, broadcastStrides(keptShape, keptStrides, inputShape, 'sum backward'), dense.offset);
}

export interface SumAttrs { axes: readonly number[]; keepDim: boolean }

export const sumOp = defineOp<SumAttrs, { inputShape: readonly number[]; axes: number[] }>({
  name: 'sum',
  saves: 'nothing',
  forward: ([x], { axes, keepDim }) => {
    const resolved = resolveReductionAxes(axes, x.rank, 'sum');
    // Reduce the highest axis first so lower axis numbers stay valid when not keeping dims.
    let current = x;
    for (const a of resolved) current = reduce('sum', current, a, keepDim);
    const output = current === x ? contiguousCopy(x) : current;
    return { output, state: { inputShape: x.shape, axes: resolved } };
  },
  backward: (g, _s, { inputShape, axes }) => [expandBack(g, inputShape, axes)],
});

export interface MaxAttrs { axes: readonly number[]; keepDim: boolean }

export const maxOp = defineOp<MaxAttrs, { inputShape: readonly number[]; axes: number[] }>({
  name: 'max',
  saves: 'the input and the output',
  forward: ([x], { axes, keepDim }) => {
    const resolved = resolveReductionAxes(axes, x.rank, 'max');
    if (resolved.length === 0) throw new Error(`max: needs at least one axis for ${x.describe()}`);
    let current = x;
    for (const a of resolved) {
      const next = reduce('max', current, a, keepDim);
      if (current !== x) current.dispose();
      current = next;
    }
    return { output: current, saved: [x, current], state: { inputShape: x.shape, axes: resolved } };
  },
  // Like torch.amax: the gradient is shared evenly among the elements equal to the max.
  backward: (g, [x, out], { inputShape, axes }) => {
    const mask = binary('eq', x, expandBack(out, inputShape, axes));
    let ties = mask;
    for (const a of axes) ties = reduce('sum', ties, a, true);
    const share = binary('div', mask, ties);
    return [binary('mul', share, expandBack(g, inputShape, axes))];
  },
});
