// Gradients of broadcasting ops must be summed back to each input's shape.

import { reduce } from '../../tensor/kernel-ops.js';
import { shapesEqual } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';

/** Sums g over the axes that broadcasting expanded, returning a tensor of `shape`. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g.view(g.shape, g.strides, g.offset);
  let current = g;
  const owned: Tensor[] = [];
  // Leading axes that the input did not have.
  while (current.rank > shape.length) {
    current = reduce('sum', current, 0, false);
    owned.push(current);
  }
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1 && current.shape[i] !== 1) {
      current = reduce('sum', current, i, true);
      owned.push(current);
    }
  }
  const result = current.view(current.shape, current.strides, current.offset);
  for (const t of owned) t.dispose();
  return result;
}
