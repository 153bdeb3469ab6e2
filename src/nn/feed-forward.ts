// Meta's SwiGLU FeedForward: w2(silu(w1 x) * w3 x), w1 and w3 (hidden, dim),
// w2 (dim, hidden); silu-times-gate is one fused op.

import { siluMul } from '../autograd/functional.js';
import type { FloatDType } from '../tensor/dtype.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ParameterInit } from './init.js';
import { Linear, type LinearLayer } from './linear.js';
import { Module } from './module.js';

export interface FeedForwardConfig {
  dim: number;
  hiddenDim: number;
  dtype?: FloatDType;
  init?: ParameterInit;
}

export class FeedForward extends Module {
  w1: LinearLayer;
  w2: LinearLayer;
  w3: LinearLayer;

  constructor(readonly config: FeedForwardConfig) {
    super();
    const { dim, hiddenDim } = config;
    const opts = { dtype: config.dtype, init: config.init };
    this.w1 = this.registerModule('w1', new Linear(dim, hiddenDim, opts));
    this.w2 = this.registerModule('w2', new Linear(hiddenDim, dim, opts));
    this.w3 = this.registerModule('w3', new Linear(dim, hiddenDim, opts));
  }

  forward(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.config.dim) {
      throw new Error(`FeedForward(dim ${this.config.dim}): input ${formatShape(x.shape)} ${x.dtype} must end in ${this.config.dim} features`);
    }
    return this.runForward([x], () => this.w2.forward(siluMul(this.w1.forward(x), this.w3.forward(x))));
  }
}
