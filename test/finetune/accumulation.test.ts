// Gradient accumulation's two normalizations, against their definitions:
//   exact: k micro-batches of batch 1 give the gradient of one batch of k
//          (token-mean over the whole window);
//   seed:  summed micro-batch gradients equal the gradient of the mean of the
//          k micro-batch losses (what the seed computed).
// In f64 on the CPU backend, so the only differences are summation order.

import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { microBatchLoss, targetTokenCount } from '../../src/train/causal-lm-loss.js';
import { collateBatch, type CollatedBatch } from '../../src/train/data/collate.js';
import { loadDefaultAlpaca } from '../../src/train/data/default-data.js';
import { llamaTokenizer } from '../../src/train/data/llama-tokenizer.js';
import { tokenizeAlpacaDataset } from '../../src/train/data/alpaca-tokenize.js';

const VOCAB = 1000;

/** Real records and masks; ids folded into a small vocabulary so an f64 model runs quickly. */
async function examples(n: number) {
  const records = (await loadDefaultAlpaca('train')).slice(0, n);
  return tokenizeAlpacaDataset(records, llamaTokenizer(), { maxLength: 128 }).map((e) => ({
    inputIds: e.inputIds.map((id) => id % VOCAB),
    labels: e.labels.map((id) => (id === -100 ? id : id % VOCAB)),
  }));
}

function model(): g.Transformer {
  g.manualSeed(3);
  return g.Transformer.fromPreset('tiny', { layers: 1, vocabSize: VOCAB }, { dtype: 'f64' });
}

/** Gradients (host copies) after backward of the given losses, summed into .grad like a training loop. */
async function gradsAfter(m: g.Transformer, lossFns: (() => g.Tensor)[]): Promise<Map<string, Float64Array>> {
  for (const f of lossFns) {
    const loss = g.tidy(f);
    loss.backward();
    loss.dispose();
  }
  const out = new Map<string, Float64Array>();
  for (const [n, p] of m.namedParameters()) out.set(n, (await p.grad!.data()) as Float64Array);
  g.zeroGrad(m.parameters());
  return out;
}

const tensors = (b: CollatedBatch) => [g.tensor(b.inputIds, b.shape), g.tensor(b.labels, b.shape)] as const;

function expectClose(a: Map<string, Float64Array>, b: Map<string, Float64Array>): void {
  for (const [name, x] of a) {
    const y = b.get(name)!;
    let scale = 0;
    for (let i = 0; i < x.length; i++) scale = Math.max(scale, Math.abs(x[i]));
    for (let i = 0; i < x.length; i++) {
      if (Math.abs(x[i] - y[i]) > 1e-12 * Math.max(1, scale)) throw new Error(`${name}[${i}]: ${x[i]} vs ${y[i]}`);
    }
  }
}

describe('gradient accumulation', () => {
  it('exact mode: k micro-batches of 1 equal one batch of k', async () => {
    const ex = await examples(4);
    const counts = ex.map((e) => targetTokenCount(e.labels, 1, e.labels.length));
    // The records hold different numbers of target tokens, which is what makes the seed's mode differ.
    expect(new Set(counts).size).toBeGreaterThan(1);
    const m = model();
    const big = collateBatch(ex);
    const oneBatch = await gradsAfter(m, [() => {
      const [ids, labels] = tensors(big);
      return microBatchLoss(m.forward(ids), labels, { mode: 'seed', accumulate: 1, windowTokens: 0 });
    }]);
    const windowTokens = counts.reduce((a, b) => a + b, 0);
    const accumulated = await gradsAfter(m, ex.map((e) => () => {
      const [ids, labels] = tensors(collateBatch([e]));
      return microBatchLoss(m.forward(ids), labels, { mode: 'exact', accumulate: 4, windowTokens });
    }));
    expectClose(accumulated, oneBatch);
    m.dispose();
  });

  it('seed mode: summed micro-batch gradients equal the gradient of the mean of the micro-batch losses', async () => {
    const ex = await examples(4);
    const m = model();
    const pairs = [collateBatch(ex.slice(0, 2)), collateBatch(ex.slice(2, 4))];
    const accumulated = await gradsAfter(m, pairs.map((b) => () => {
      const [ids, labels] = tensors(b);
      return microBatchLoss(m.forward(ids), labels, { mode: 'seed', accumulate: 2, windowTokens: 0 });
    }));
    const meanOfLosses = await gradsAfter(m, [() => {
      const losses = pairs.map((b) => {
        const [ids, labels] = tensors(b);
        return g.crossEntropy(g.slice(m.forward(ids), 1, 0, b.seqLen - 1), g.slice(labels, 1, 1), { ignoreIndex: -100 });
      });
      return g.mul(g.add(losses[0], losses[1]), 0.5);
    }]);
    expectClose(accumulated, meanOfLosses);
    // ...and, with unequal token counts, not the one-batch gradient (the exact mode's).
    const oneBatch = await gradsAfter(m, [() => {
      const [ids, labels] = tensors(collateBatch(ex));
      return microBatchLoss(m.forward(ids), labels, { mode: 'seed', accumulate: 1, windowTokens: 0 });
    }]);
    expect(() => expectClose(accumulated, oneBatch)).toThrow();
    m.dispose();
  });

  it('exact mode refuses a window without its token count', () => {
    g.tidy(() => {
      const logits = g.zeros([1, 3, 5]);
      const labels = g.tensor(Int32Array.from([0, 1, 2]), [1, 3]);
      expect(() => microBatchLoss(logits, labels, { mode: 'exact', accumulate: 2, windowTokens: 0 })).toThrow(/token count/);
    });
  });
});
