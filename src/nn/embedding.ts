// torch.nn.Embedding: rows of a (vocab, dim) table picked by i32 token ids.

import { embedding } from '../autograd/functional.js';
import type { FloatDType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { standardNormal, type ParameterInit } from './init.js';
import { Module } from './module.js';

export interface EmbeddingOptions {
  dtype?: FloatDType;
  init?: ParameterInit;
}

export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    this.weight = this.registerParameter('weight', standardNormal([numEmbeddings, embeddingDim], options.dtype ?? 'f32', options.init));
  }

  /** tokens (...) i32 -> (..., dim). */
  forward(tokens: Tensor): Tensor {
    if (tokens.dtype !== 'i32') throw new Error(`Embedding(${this.numEmbeddings}, ${this.embeddingDim}): token ids must be i32, got ${tokens.describe()}`);
    return this.runForward([tokens], () => embedding(this.weight, tokens));
  }
}
