// Parameter initializers with PyTorch's distributions (drawn from gradlab's
// Philox generator, so the values differ from torch's but the laws are the same).

import type { FloatDType } from '../tensor/dtype.js';
import { full, rand, randn } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * 'default': each module's PyTorch initialization. 'zeros': zero-filled (ones
 * for norm weights), skipping the random draws when weights will be loaded.
 */
export type ParameterInit = 'default' | 'zeros';

/** torch.nn.Linear's default: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function kaimingUniformA5(shape: readonly number[], fanIn: number, dtype: FloatDType, init: ParameterInit = 'default'): Tensor {
  if (init === 'zeros') return full(shape, 0, { dtype });
  const bound = 1 / Math.sqrt(fanIn);
  return rand(shape, { dtype, low: -bound, high: bound });
}

/** torch.nn.Embedding's default: N(0, 1). */
export function standardNormal(shape: readonly number[], dtype: FloatDType, init: ParameterInit = 'default'): Tensor {
  if (init === 'zeros') return full(shape, 0, { dtype });
  return randn(shape, { dtype });
}
