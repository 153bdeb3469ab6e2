import { describe, expect, it } from 'vitest';
import { DataOrder, Prng32, epochPermutation } from '../../../src/train/data/index.js';

// Expected values from an independent Python transcription of the recipe documented in
// prng32.ts and data-order.ts (written for this test).
describe('Prng32 and epoch permutations', () => {
  it('matches the documented recipe', () => {
    const rng = new Prng32(1);
    expect([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()]).toEqual([2527132011, 314344336, 2535364964]);
    expect(Array.from(epochPermutation(10, 42, 0))).toEqual([8, 2, 1, 6, 9, 7, 5, 3, 4, 0]);
    expect(Array.from(epochPermutation(10, 42, 1))).toEqual([4, 3, 2, 7, 0, 9, 1, 5, 8, 6]);
    expect(Array.from(epochPermutation(7, 7, 3))).toEqual([1, 2, 3, 6, 0, 5, 4]);
  });
});

describe('DataOrder', () => {
  it('walks epochs in batches, the last one short unless dropLast', () => {
    const order = new DataOrder({ datasetSize: 10, batchSize: 4, seed: 42 });
    expect(order.batchesPerEpoch).toBe(3);
    expect(order.nextBatch()).toEqual([8, 2, 1, 6]);
    expect(order.nextBatch()).toEqual([9, 7, 5, 3]);
    expect(order.state).toEqual({ seed: 42, epoch: 0, position: 8 });
    expect(order.nextBatch()).toEqual([4, 0]);
    expect(order.state).toEqual({ seed: 42, epoch: 1, position: 0 });
    expect(order.nextBatch()).toEqual([4, 3, 2, 7]);
    const dropping = new DataOrder({ datasetSize: 10, batchSize: 4, seed: 42, dropLast: true });
    expect([dropping.nextBatch(), dropping.nextBatch(), dropping.nextBatch()]).toEqual([[8, 2, 1, 6], [9, 7, 5, 3], [4, 3, 2, 7]]);
    const plain = new DataOrder({ datasetSize: 5, batchSize: 2, seed: 1, shuffle: false });
    expect([plain.nextBatch(), plain.nextBatch(), plain.nextBatch(), plain.nextBatch()]).toEqual([[0, 1], [2, 3], [4], [0, 1]]);
  });

  it('a run resumed from a saved (JSON round-tripped) state sees the same batches', () => {
    const options = { datasetSize: 37, batchSize: 5 };
    const uninterrupted = new DataOrder({ ...options, seed: 1234 });
    const expected = Array.from({ length: 40 }, () => uninterrupted.nextBatch());
    for (const stopAfter of [0, 1, 7, 8, 23]) {
      const first = new DataOrder({ ...options, seed: 1234 });
      const got = Array.from({ length: stopAfter }, () => first.nextBatch());
      const saved = JSON.parse(JSON.stringify(first.state));
      const resumed = DataOrder.resume(options, saved);
      while (got.length < 40) got.push(resumed.nextBatch());
      expect(got).toEqual(expected);
    }
  });

  it('each epoch is a permutation and epochs differ', () => {
    const order = new DataOrder({ datasetSize: 200, batchSize: 8, seed: 9 });
    const e0 = Array.from(order.epochOrder(0)), e1 = Array.from(order.epochOrder(1));
    expect([...e0].sort((p, q) => p - q)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(e0).not.toEqual(e1);
  });

  it('rejects bad options and states', () => {
    expect(() => new DataOrder({ datasetSize: 0, batchSize: 1, seed: 1 })).toThrow(/datasetSize must be an integer >= 1, got 0/);
    expect(() => new DataOrder({ datasetSize: 3, batchSize: 4, seed: 1, dropLast: true })).toThrow(/would yield no batch/);
    expect(() => DataOrder.resume({ datasetSize: 3, batchSize: 1 }, { seed: 1, epoch: 0, position: 4 })).toThrow(/position 4 exceeds datasetSize 3/);
    expect(() => DataOrder.resume({ datasetSize: 3, batchSize: 1 }, { seed: 1, epoch: -1, position: 0 })).toThrow(/state\.epoch/);
  });
});
