// Batching tokenized examples: right padding as the reference's DataCollatorForSupervisedDataset
// (pad_sequence with pad_token_id for ids and -100 for labels). Output is plain (B, S) row-major
// Int32Arrays; the trainer turns them into tensors.
//
// attentionMask is 1 for positions < the example's length. The reference computes
// input_ids != pad_token_id; with LLaMA's added "[PAD]" id that is the same thing, while here
// the pad id (default 0, <unk>) may also occur inside real text, so we use the length.

import { IGNORE_INDEX } from './alpaca-tokenize.js';

export interface CollateInput {
  inputIds: ArrayLike<number>;
  labels: ArrayLike<number>;
}

export interface CollateOptions {
  /** Id written into padded input positions (default 0; LLaMA has no pad token). */
  padId?: number;
  /** 'longest' (default) pads to the longest example; a number pads every row to that length. */
  padTo?: 'longest' | number;
}

export interface CollatedBatch {
  /** (B, S) */
  inputIds: Int32Array;
  /** (B, S), -100 at padding and masked prompt positions. */
  labels: Int32Array;
  /** (B, S), 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
  /** Real length of each row. */
  lengths: Int32Array;
  batchSize: number;
  seqLen: number;
  shape: [number, number];
}

export function collateBatch(examples: readonly CollateInput[], options: CollateOptions = {}): CollatedBatch {
  const padId = options.padId ?? 0;
  const padTo = options.padTo ?? 'longest';
  if (examples.length === 0) throw new Error('collateBatch: empty batch');
  if (!Number.isInteger(padId)) throw new Error(`collateBatch: padId must be an integer, got ${padId}`);
  examples.forEach((e, i) => {
    if (e.inputIds.length !== e.labels.length) {
      throw new Error(`collateBatch: example ${i} has ${e.inputIds.length} input ids but ${e.labels.length} labels`);
    }
  });
  const longest = Math.max(...examples.map((e) => e.inputIds.length));
  let seqLen: number;
  if (padTo === 'longest') {
    seqLen = longest;
  } else {
    if (!Number.isInteger(padTo) || padTo < 1) throw new Error(`collateBatch: padTo must be 'longest' or an integer >= 1, got ${padTo}`);
    const tooLong = examples.findIndex((e) => e.inputIds.length > padTo);
    if (tooLong !== -1) throw new Error(`collateBatch: example ${tooLong} has length ${examples[tooLong]!.inputIds.length} > padTo ${padTo}`);
    seqLen = padTo;
  }
  const batchSize = examples.length;
  const inputIds = new Int32Array(batchSize * seqLen).fill(padId);
  const labels = new Int32Array(batchSize * seqLen).fill(IGNORE_INDEX);
  const attentionMask = new Int32Array(batchSize * seqLen);
  const lengths = new Int32Array(batchSize);
  examples.forEach((e, b) => {
    const row = b * seqLen;
    const n = e.inputIds.length;
    lengths[b] = n;
    for (let s = 0; s < n; s++) {
      inputIds[row + s] = e.inputIds[s]!;
      labels[row + s] = e.labels[s]!;
      attentionMask[row + s] = 1;
    }
  });
  return { inputIds, labels, attentionMask, lengths, batchSize, seqLen, shape: [batchSize, seqLen] };
}
