// View ops share storage with their input (no copy) whenever the layout
// allows; their backward maps the gradient back to the input's layout.

import { contiguousCopy, copyIntoView, emptyTensor, full, sameContext } from '../../tensor/kernel-ops.js';
import {
  assertPermutation, broadcastStrides, formatShape, inferReshape, invertPermutation, normalizeAxis, viewStrides,
} from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../differentiable-op.js';
import { sumToShape } from './reduce-to-shape.js';

/** A reshape that is a view when strides allow, else a copy (like torch.reshape). */
export function reshapeRaw(x: Tensor, shape: readonly number[]): Tensor {
  const target = inferReshape(x.numel, shape, 'reshape');
  const strides = viewStrides(x.shape, x.strides, target);
  if (strides) return x.view(target, strides, x.offset);
  const dense = contiguousCopy(x);
  const out = dense.view(target, viewStrides(dense.shape, dense.strides, target)!, 0);
  dense.dispose();
  return out;
}

export const reshapeOp = defineOp<{ shape: readonly number[] }, { inputShape: readonly number[] }>({
  name: 'reshape',
  saves: 'nothing',
  forward: ([x], { shape }) => ({ output: reshapeRaw(x, shape), state: { inputShape: x.shape } }),
  backward: (g, _s, { inputShape }) => [reshapeRaw(g, inputShape)],
});

export function permuteRaw(x: Tensor, perm: readonly number[]): Tensor {
  assertPermutation(perm, x.rank, 'permute');
  return x.view(perm.map((p) => x.shape[p]), perm.map((p) => x.strides[p]), x.offset);
}

export const permuteOp = defineOp<{ perm: readonly number[] }>({
  name: 'permute',
  saves: 'nothing',
  forward: ([x], { perm }) => ({ output: permuteRaw(x, perm) }),
  backward: (g, _s, _st, _n, { perm }) => [permuteRaw(g, invertPermutation(perm))],
});

export const expandOp = defineOp<{ shape: readonly number[] }, { inputShape: readonly number[] }>({
  name: 'expand',
  saves: 'nothing',
  forward: ([x], { shape }) => {
    const target = shape.map((d, i) => (d === -1 ? x.shape[i - (shape.length - x.rank)] : d));
    return { output: x.view(target, broadcastStrides(x.shape, x.strides, target, 'expand'), x.offset), state: { inputShape: x.shape } };
  },
  backward: (g, _s, { inputShape }) => [sumToShape(g, inputShape)],
});

export interface SliceAttrs { axis: number; start: number; end: number; step: number }

/** x[..., start:end:step, ...] on one axis, as a view. Negative start/end count from the end. */
export function sliceRaw(x: Tensor, { axis, start, end, step }: SliceAttrs): Tensor {
  const a = normalizeAxis(axis, x.rank, 'slice');
  const size = x.shape[a];
  if (!Number.isInteger(step) || step < 1) throw new Error(`slice: step must be a positive integer, got ${step}`);
  // Negative and past-the-end bounds are clamped like Python's; non-integers (NaN, 1.5) have no meaning.
  if (!Number.isInteger(start) || !Number.isInteger(end)) throw new Error(`slice: start and end must be integers, got start ${start}, end ${end} (axis ${axis} of ${x.describe()})`);
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const from = clamp(start);
  const to = Math.max(from, clamp(end));
  const length = Math.ceil((to - from) / step);
  const shape = x.shape.map((d, i) => (i === a ? length : d));
  const strides = x.strides.map((s, i) => (i === a ? s * step : s));
  return x.view(shape, strides, x.offset + from * x.strides[a]);
}

export const sliceOp = defineOp<SliceAttrs, { inputShape: readonly number[] }>({
  name: 'slice',
  saves: 'nothing',
  forward: ([x], attrs) => ({ output: sliceRaw(x, attrs), state: { inputShape: x.shape } }),
  // Scatter the gradient into a zero tensor of the input's shape.
  backward: (g, _s, { inputShape }, _n, attrs) => {
    const gx = full(inputShape, 0, g.dtype, g.context);
    const region = sliceRaw(gx, attrs);
    copyIntoView(g, region);
    region.dispose();
    return [gx];
  },
});

export const contiguousOp = defineOp({
  name: 'contiguous',
  saves: 'nothing',
  forward: ([x]) => ({ output: contiguousCopy(x) }),
  backward: (g) => [g.view(g.shape, g.strides, g.offset)],
});

export const concatOp = defineOp<{ axis: number }, { sizes: number[]; axis: number }>({
  name: 'concat',
  saves: 'nothing',
  forward: (inputs, { axis }) => {
    const ctx = sameContext('concat', ...inputs);
    if (inputs.length === 0) throw new Error('concat: needs at least one tensor');
    const first = inputs[0];
    const a = normalizeAxis(axis, first.rank, 'concat');
    for (const t of inputs) {
      const same = t.rank === first.rank && t.dtype === first.dtype && t.shape.every((d, i) => i === a || d === first.shape[i]);
      if (!same) throw new Error(`concat: ${t.describe()} does not match ${first.describe()} outside axis ${a}`);
    }
    const sizes = inputs.map((t) => t.shape[a]);
    const outShape = first.shape.map((d, i) => (i === a ? sizes.reduce((p, q) => p + q, 0) : d));
    const out = emptyTensor(ctx, outShape, first.dtype);
    let at = 0;
    inputs.forEach((t, i) => {
      const region = sliceRaw(out, { axis: a, start: at, end: at + sizes[i], step: 1 });
      copyIntoView(t, region);
      region.dispose();
      at += sizes[i];
    });
    return { output: out, state: { sizes, axis: a } };
  },
  backward: (g, _s, { sizes, axis }) => {
    let at = 0;
    return sizes.map((size) => {
      const part = sliceRaw(g, { axis, start: at, end: at + size, step: 1 });
      at += size;
      return part;
    });
  },
});

export { formatShape };
