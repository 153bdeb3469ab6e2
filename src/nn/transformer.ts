// Meta's LLaMA-2 Transformer for training: tok_embeddings -> layers -> norm
// -> output, logits at least f32 (Meta's `.float()`; f64 models keep f64 so
// they can be gradchecked). No KV cache; positions start at 0.
//
// Gradient checkpointing (training mode with grad on only):
//   'none'          every op saves what its backward needs;
//   'block'         each block is one checkpoint: only its input is kept;
//   'two-segments'  the attention half and the FFN half are separate
//                   checkpoints (the seed's layout): each block keeps x and h.

import { cast, slice } from '../autograd/functional.js';
import { checkpoint } from '../autograd/checkpoint.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import type { FloatDType } from '../tensor/dtype.js';
import { tidy } from '../tensor/scope.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { Embedding } from './embedding.js';
import type { ParameterInit } from './init.js';
import { Linear } from './linear.js';
import { headDimOf, hiddenDimOf, kvHeadsOf, presetArgs, validateModelArgs, type ModelArgs, type PresetName } from './model-args.js';
import { Module } from './module.js';
import { RMSNorm } from './rms-norm.js';
import { RotaryEmbedding } from './rotary.js';
import { TransformerBlock } from './transformer-block.js';

export const CHECKPOINTING_MODES = ['none', 'block', 'two-segments'] as const;
export type CheckpointingMode = (typeof CHECKPOINTING_MODES)[number];

export interface TransformerOptions {
  /** Parameter (and activation) dtype; default f32. f64 runs on the CPU backend only. */
  dtype?: FloatDType;
  /** 'zeros' skips random initialization when weights will be loaded anyway. */
  init?: ParameterInit;
  checkpointing?: CheckpointingMode;
}

export class Transformer extends Module {
  readonly args: ModelArgs;
  readonly dtype: FloatDType;
  readonly tok_embeddings: Embedding;
  readonly layers: TransformerBlock[];
  readonly norm: RMSNorm;
  readonly output: Linear;
  readonly rope: RotaryEmbedding;
  private checkpointingMode: CheckpointingMode = 'none';

  constructor(args: ModelArgs, options: TransformerOptions = {}) {
    super();
    this.args = validateModelArgs({ ...args });
    this.dtype = options.dtype ?? 'f32';
    this.checkpointing = options.checkpointing ?? 'none';
    const { dim, vocabSize, nLayers, normEps } = this.args;
    const dtype = this.dtype;
    const init = options.init;
    this.rope = new RotaryEmbedding(headDimOf(this.args), 2 * this.args.maxSeqLen, dtype, this.args.ropeTheta ?? 10000);
    this.tok_embeddings = this.registerModule('tok_embeddings', new Embedding(vocabSize, dim, { dtype, init }));
    const layerList = this.registerModule('layers', new ModuleList());
    const blockConfig = { dim, nHeads: this.args.nHeads, nKvHeads: kvHeadsOf(this.args), hiddenDim: hiddenDimOf(this.args), normEps, dtype, init };
    this.layers = Array.from({ length: nLayers }, (_, i) => layerList.append(new TransformerBlock(i, blockConfig, this.rope)));
    this.norm = this.registerModule('norm', new RMSNorm(dim, { eps: normEps, dtype }));
    this.output = this.registerModule('output', new Linear(dim, vocabSize, { dtype, init }));
  }

  /** A preset model ('tiny', 'stories15M', '7b', '13b'), `layers` overridable. */
  static fromPreset(name: PresetName, overrides: Partial<ModelArgs> & { layers?: number } = {}, options: TransformerOptions = {}): Transformer {
    return new Transformer(presetArgs(name, overrides), options);
  }

  get checkpointing(): CheckpointingMode { return this.checkpointingMode; }
  set checkpointing(mode: CheckpointingMode) {
    if (!(CHECKPOINTING_MODES as readonly string[]).includes(mode)) {
      throw new Error(`Transformer: checkpointing must be one of ${CHECKPOINTING_MODES.join(', ')}, got '${mode}'`);
    }
    this.checkpointingMode = mode;
  }

  /**
   * tokens (batch, seq) i32 -> logits (batch, seq, vocab), f32 (f64 for f64 models).
   * `lastPositionOnly` returns (batch, 1, vocab) for the last position alone, so greedy
   * decoding does not pay for the output projection of every position.
   */
  forward(tokens: Tensor, options: { lastPositionOnly?: boolean } = {}): Tensor {
    if (tokens.dtype !== 'i32' || tokens.rank !== 2) {
      throw new Error(`Transformer: tokens must be i32 (batch, seq), got ${formatShape(tokens.shape)} ${tokens.dtype}`);
    }
    if (tokens.shape[1] === 0) throw new Error(`Transformer: the token sequence is empty (tokens ${formatShape(tokens.shape)}); pass at least one token per row`);
    if (tokens.shape[1] > this.args.maxSeqLen) {
      throw new Error(`Transformer: sequence length ${tokens.shape[1]} exceeds maxSeqLen ${this.args.maxSeqLen}`);
    }
    return this.runForward([tokens], () => {
      let h = this.tok_embeddings.forward(tokens);
      // An f16 embedding table (storeFrozenWeightsInF16) still feeds an f32 residual stream.
      if (h.dtype !== this.dtype) h = cast(h, this.dtype);
      const mode = this.training && isGradEnabled() ? this.checkpointingMode : 'none';
      for (const layer of this.layers) {
        if (mode === 'block') {
          h = checkpoint((x) => layer.forward(x), h);
        } else if (mode === 'two-segments') {
          // Each half in its own scope, so its intermediates (the norm's and the sublayer's
          // outputs) die when the half returns, as a Python function's locals do.
          h = checkpoint((x) => tidy(() => layer.attentionHalf(x)), h);
          h = checkpoint((x) => tidy(() => layer.feedForwardHalf(x)), h);
        } else {
          h = layer.forward(h);
        }
      }
      if (options.lastPositionOnly) h = slice(h, 1, h.shape[1] - 1);
      const logits = this.output.forward(this.norm.forward(h));
      return logits.dtype === 'f16' ? cast(logits, 'f32') : logits;
    });
  }

  protected override disposeBuffers(): void {
    this.rope.dispose();
  }
}

/** Children named 0, 1, 2, ... (torch.nn.ModuleList), so block parameters are `layers.{i}.…`. */
export class ModuleList extends Module {
  private readonly items: Module[] = [];

  append<M extends Module>(module: M): M {
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return module;
  }

  get length(): number {
    return this.items.length;
  }
}
