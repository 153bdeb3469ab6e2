// torch.nn.Linear: y = x @ W^T (+ b), weight stored (out, in). LLaMA uses no
// bias anywhere, so bias is off unless asked for.

import { add, linear } from '../autograd/functional.js';
import type { FloatDType } from '../tensor/dtype.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { kaimingUniformA5, type ParameterInit } from './init.js';
import { Module } from './module.js';

export interface LinearOptions {
  bias?: boolean;
  dtype?: FloatDType;
  init?: ParameterInit;
}

/** What Attention and FeedForward need of a projection, so a LoRALinear can stand in for a Linear. */
export interface LinearLayer extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  forward(x: Tensor): Tensor;
}

export class Linear extends Module implements LinearLayer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    super();
    const dtype = options.dtype ?? 'f32';
    this.weight = this.registerParameter('weight', kaimingUniformA5([outFeatures, inFeatures], inFeatures, dtype, options.init));
    // torch initializes the bias with the same bound, 1/sqrt(fanIn).
    this.bias = options.bias ? this.registerParameter('bias', kaimingUniformA5([outFeatures], inFeatures, dtype, options.init)) : null;
  }

  forward(x: Tensor): Tensor {
    checkFeatures(this, x);
    return this.runForward([x], () => {
      const y = linear(x, this.weight);
      return this.bias ? add(y, this.bias) : y;
    });
  }
}

export function checkFeatures(layer: { typeName: string; inFeatures: number; outFeatures: number }, x: Tensor): void {
  if (x.rank < 1 || x.shape[x.rank - 1] !== layer.inFeatures) {
    throw new Error(`${layer.typeName}(${layer.inFeatures} -> ${layer.outFeatures}): input ${formatShape(x.shape)} ${x.dtype} must end in ${layer.inFeatures} features`);
  }
}
