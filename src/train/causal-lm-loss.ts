// The training loss of one micro-batch and how gradient accumulation
// normalizes it.
//
// Causal LM (the seed's): logits[:, :-1] against labels[:, 1:], cross-entropy
// with ignore index -100.
//   seed  (the seed study, PyTorch's usual recipe): mean over the micro-batch's
//         target tokens, divided by k, the accumulation steps. Summed over the
//         window this is the gradient of the mean of the k micro-batch losses,
//         which differs from one big batch whenever micro-batches hold
//         different numbers of target tokens. A final partial window is still
//         divided by k, as the seed's loop does.
//   exact (beyond the seed): the sum of token losses divided by the target
//         tokens of the whole window, so k micro-batches of batch 1 give the
//         gradient of one batch of k.

import { crossEntropy, mul, slice } from '../autograd/functional.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AccumulationMode } from './finetune-config.js';
import { IGNORE_INDEX } from './data/alpaca-tokenize.js';

/** Target tokens of a (batch, seq) label array: positions 1.. whose label is not ignored. */
export function targetTokenCount(labels: ArrayLike<number>, batch: number, seq: number): number {
  let n = 0;
  for (let b = 0; b < batch; b++) for (let s = 1; s < seq; s++) if (labels[b * seq + s] !== IGNORE_INDEX) n++;
  return n;
}

export interface MicroBatchNormalization {
  readonly mode: AccumulationMode;
  /** Micro-batches per optimizer step (the configured k, also for a partial final window). */
  readonly accumulate: number;
  /** Target tokens in the whole window (exact mode). */
  readonly windowTokens: number;
}

/**
 * The loss to backward for one micro-batch: logits (B, S, V) f32, labels (B, S) i32.
 * Returns the normalized loss (a scalar) ready for backward.
 */
export function microBatchLoss(logits: Tensor, labels: Tensor, norm: MicroBatchNormalization): Tensor {
  const shiftedLogits = slice(logits, 1, 0, logits.shape[1] - 1);
  const shiftedLabels = slice(labels, 1, 1);
  if (norm.mode === 'seed') {
    const mean = crossEntropy(shiftedLogits, shiftedLabels, { ignoreIndex: IGNORE_INDEX });
    return norm.accumulate === 1 ? mean : mul(mean, 1 / norm.accumulate);
  }
  if (!(norm.windowTokens > 0)) throw new Error(`microBatchLoss: exact accumulation needs the window's target token count, got ${norm.windowTokens}`);
  return mul(crossEntropy(shiftedLogits, shiftedLabels, { ignoreIndex: IGNORE_INDEX, reduction: 'sum' }), 1 / norm.windowTokens);
}
