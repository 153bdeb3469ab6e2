import { describe, expect, it } from 'vitest';
import { collateBatch } from '../../../src/train/data/index.js';

describe('collateBatch', () => {
  const a = { inputIds: [1, 10, 11, 2], labels: [-100, -100, 11, 2] };
  const b = { inputIds: [1, 20], labels: [-100, 20] };

  it('right-pads to the longest example', () => {
    const batch = collateBatch([a, b]);
    expect(batch.shape).toEqual([2, 4]);
    expect([batch.batchSize, batch.seqLen]).toEqual([2, 4]);
    expect(Array.from(batch.inputIds)).toEqual([1, 10, 11, 2, 1, 20, 0, 0]);
    expect(Array.from(batch.labels)).toEqual([-100, -100, 11, 2, -100, 20, -100, -100]);
    expect(Array.from(batch.attentionMask)).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
    expect(Array.from(batch.lengths)).toEqual([4, 2]);
    expect(batch.inputIds).toBeInstanceOf(Int32Array);
  });

  it('pads to a fixed length with a chosen pad id; the mask follows lengths, not the pad id', () => {
    const c = { inputIds: [1, 7, 7], labels: [-100, 7, 7] };
    const batch = collateBatch([b, c], { padTo: 5, padId: 7 });
    expect(batch.shape).toEqual([2, 5]);
    expect(Array.from(batch.inputIds)).toEqual([1, 20, 7, 7, 7, 1, 7, 7, 7, 7]);
    expect(Array.from(batch.labels)).toEqual([-100, 20, -100, -100, -100, -100, 7, 7, -100, -100]);
    expect(Array.from(batch.attentionMask)).toEqual([1, 1, 0, 0, 0, 1, 1, 1, 0, 0]);
  });

  it('rejects bad batches', () => {
    expect(() => collateBatch([])).toThrow(/empty batch/);
    expect(() => collateBatch([a, b], { padTo: 3 })).toThrow(/example 0 has length 4 > padTo 3/);
    expect(() => collateBatch([b, { inputIds: [1, 2], labels: [1] }])).toThrow(/example 1 has 2 input ids but 1 labels/);
  });
});
