// Meta's RMSNorm: x * rsqrt(mean(x^2) + eps) computed in f32 (f64 for f64),
// rounded back to x's dtype, then times `weight` (init ones). One fused op.

import { rmsNorm } from '../autograd/functional.js';
import { full } from '../tensor/creation.js';
import type { FloatDType } from '../tensor/dtype.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export interface RMSNormOptions {
  eps?: number;
  dtype?: FloatDType;
}

export class RMSNorm extends Module {
  readonly weight: Tensor;
  readonly eps: number;

  constructor(readonly dim: number, options: RMSNormOptions = {}) {
    super();
    this.eps = options.eps ?? 1e-6; // Meta's RMSNorm class default; ModelArgs passes norm_eps (1e-5)
    this.weight = this.registerParameter('weight', full([dim], 1, { dtype: options.dtype ?? 'f32' }));
  }

  forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.dim) {
      throw new Error(`RMSNorm(${this.dim}): input ${formatShape(x.shape)} ${x.dtype} must end in ${this.dim} features`);
    }
    return this.runForward([x], () => rmsNorm(x, this.weight, this.eps));
  }
}
