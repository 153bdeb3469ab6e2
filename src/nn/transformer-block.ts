// Meta's TransformerBlock: h = x + attention(attention_norm(x));
// out = h + feed_forward(ffn_norm(h)). The two halves are separate methods so
// the Transformer can checkpoint them as separate segments (the seed's layout).

import { add } from '../autograd/functional.js';
import type { FloatDType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { Attention } from './attention.js';
import { FeedForward } from './feed-forward.js';
import type { ParameterInit } from './init.js';
import { Module } from './module.js';
import { RMSNorm } from './rms-norm.js';
import type { RotaryEmbedding } from './rotary.js';

export interface TransformerBlockConfig {
  dim: number;
  nHeads: number;
  nKvHeads: number;
  hiddenDim: number;
  normEps: number;
  dtype?: FloatDType;
  init?: ParameterInit;
}

export class TransformerBlock extends Module {
  readonly attention: Attention;
  readonly feed_forward: FeedForward;
  readonly attention_norm: RMSNorm;
  readonly ffn_norm: RMSNorm;

  constructor(readonly layerId: number, config: TransformerBlockConfig, rope: RotaryEmbedding) {
    super();
    const { dim, dtype, init } = config;
    // Registration order = Meta's attribute order, so state-dict keys come out in Meta's order.
    this.attention = this.registerModule('attention', new Attention({ dim, nHeads: config.nHeads, nKvHeads: config.nKvHeads, dtype, init }, rope));
    this.feed_forward = this.registerModule('feed_forward', new FeedForward({ dim, hiddenDim: config.hiddenDim, dtype, init }));
    this.attention_norm = this.registerModule('attention_norm', new RMSNorm(dim, { eps: config.normEps, dtype }));
    this.ffn_norm = this.registerModule('ffn_norm', new RMSNorm(dim, { eps: config.normEps, dtype }));
  }

  /** x (batch, seq, dim) -> the block output. */
  forward(x: Tensor): Tensor {
    return this.runForward([x], () => this.feedForwardHalf(this.attentionHalf(x)));
  }

  /** h = x + attention(attention_norm(x)) */
  attentionHalf(x: Tensor): Tensor {
    return add(x, this.attention.forward(this.attention_norm.forward(x)));
  }

  /** out = h + feed_forward(ffn_norm(h)) */
  feedForwardHalf(h: Tensor): Tensor {
    return add(h, this.feed_forward.forward(this.ffn_norm.forward(h)));
  }
}
