// The fixed-shape token batches the technique matrix trains on. Memory
// depends on shapes alone, so every combination sees the same (batch, seq)
// batches in the same order: either the embedded Alpaca records (LLaMA
// tokenizer, right-padded to exactly seqLen) or, for a shrunken vocabulary
// the tokenizer cannot serve, deterministic synthetic ids.

import type { CollatedBatch } from '../train/data/collate.js';
import { collateBatch } from '../train/data/collate.js';
import { tokenizeAlpacaDataset } from '../train/data/alpaca-tokenize.js';
import { loadDefaultAlpaca } from '../train/data/default-data.js';
import { llamaTokenizer, LLAMA_VOCAB_SIZE } from '../train/data/llama-tokenizer.js';
import { targetTokenCount } from '../train/causal-lm-loss.js';

export type MatrixDataSource = 'embedded' | 'synthetic';

export interface FixedBatch {
  /** (batch, seq) row-major. */
  readonly inputIds: Int32Array;
  readonly labels: Int32Array;
  readonly shape: [number, number];
  /** Target tokens (positions 1.. whose label is not ignored). */
  readonly targetTokens: number;
}

function fromCollated(b: CollatedBatch): FixedBatch {
  return { inputIds: b.inputIds, labels: b.labels, shape: b.shape, targetTokens: targetTokenCount(b.labels, b.batchSize, b.seqLen) };
}

/** `count` synthetic batches: ids from a fixed LCG, every position after the first a target. */
export function syntheticBatches(count: number, batchSize: number, seqLen: number, vocabSize: number, seed = 0): FixedBatch[] {
  let s = (seed * 2654435761 + 1) >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % vocabSize);
  const out: FixedBatch[] = [];
  for (let i = 0; i < count; i++) {
    const inputIds = Int32Array.from({ length: batchSize * seqLen }, next);
    out.push({ inputIds, labels: inputIds.slice(), shape: [batchSize, seqLen], targetTokens: batchSize * (seqLen - 1) });
  }
  return out;
}

/**
 * `count` batches of the embedded Alpaca training records in file order,
 * truncated and right-padded to seqLen; records with no response token
 * within seqLen are left out; the records are cycled if too few.
 */
export async function embeddedBatches(count: number, batchSize: number, seqLen: number, vocabSize: number): Promise<FixedBatch[]> {
  if (vocabSize !== LLAMA_VOCAB_SIZE) {
    throw new Error(`matrix: the embedded Alpaca data is tokenized with LLaMA's ${LLAMA_VOCAB_SIZE}-piece vocabulary; a model with vocabulary ${vocabSize} needs --data synthetic`);
  }
  const records = await loadDefaultAlpaca('train');
  const usable = tokenizeAlpacaDataset(records, llamaTokenizer(), { maxLength: seqLen }).filter((e) => e.labels.some((l, i) => i > 0 && l !== -100));
  if (usable.length === 0) throw new Error(`matrix: no embedded Alpaca record has a response token within seq-len ${seqLen}; use a longer --seq-len or --data synthetic`);
  const out: FixedBatch[] = [];
  let next = 0;
  for (let i = 0; i < count; i++) {
    const rows = Array.from({ length: batchSize }, () => usable[next++ % usable.length]);
    out.push(fromCollated(collateBatch(rows, { padTo: seqLen })));
  }
  return out;
}
