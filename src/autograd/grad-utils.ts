// Helpers on leaf gradients.

import type { Tensor } from '../tensor/tensor.js';

/** Frees every .grad (PyTorch's zero_grad(set_to_none=True)): the next backward starts fresh. */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) {
    if (p.grad) {
      p.grad.dispose();
      p.grad = null;
    }
  }
}
