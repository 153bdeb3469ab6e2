// autocast's op policy, op by op, and its weight-cast rule (ATen's cached_cast):
// which dtype each op runs in, what is cached, what is ledgered as an autocast
// weight copy, and how long each copy lives.

import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { autocast, autocastCacheSize, isAutocastEnabled } from '../../src/autograd/autocast.js';

const randn = (shape: number[], requiresGrad = false) => g.randn(shape, { requiresGrad });
const param = (shape: number[], trainable: boolean) =>
  g.randn(shape, { std: 0.1 }).keep().setStorageRole('parameter', trainable);

describe('autocast op policy (PyTorch lists)', () => {
  it('runs matmul and linear in f16 and precision-sensitive ops in f32', () => {
    g.manualSeed(1);
    g.tidy(() => {
      const a = randn([3, 4]);
      const b = randn([4, 5]);
      const w = randn([6, 4]);
      const labels = g.tensor(Int32Array.from([0, 1, 2]), [3]);
      autocast('f16', () => {
        expect(isAutocastEnabled()).toBe(true);
        const h = g.matmul(a, b);
        expect(h.dtype).toBe('f16');
        expect(g.linear(a, w).dtype).toBe('f16');
        // f32 list: f16 inputs are cast up.
        expect(g.softmax(h).dtype).toBe('f32');
        expect(g.logSoftmax(h).dtype).toBe('f32');
        expect(g.exp(h).dtype).toBe('f32');
        expect(g.log(g.exp(h)).dtype).toBe('f32');
        expect(g.pow(h, 2).dtype).toBe('f32');
        expect(g.rsqrt(g.exp(h)).dtype).toBe('f32');
        expect(g.sum(h).dtype).toBe('f32');
        expect(g.mean(h, 1).dtype).toBe('f32');
        expect(g.rmsNorm(h, g.ones([5])).dtype).toBe('f32');
        expect(g.crossEntropy(h, labels).dtype).toBe('f32');
        // Other ops keep their input dtype; mixed inputs promote to the widest.
        expect(g.silu(h).dtype).toBe('f16');
        expect(g.mul(h, 2).dtype).toBe('f16');
        expect(g.add(h, g.ones([3, 5])).dtype).toBe('f32');
        expect(g.add(h, h).dtype).toBe('f16');
      });
      expect(isAutocastEnabled()).toBe(false);
      // Outside the region nothing changes.
      expect(g.matmul(a, b).dtype).toBe('f32');
      expect(g.softmax(g.cast(a, 'f16')).dtype).toBe('f16');
    });
  });

  it('never casts f64 (ATen is_eligible) and honours a nested disabled region', () => {
    g.tidy(() => {
      const a = g.randn([2, 2], { dtype: 'f64' });
      const b = g.randn([2, 2]);
      autocast('f16', () => {
        expect(g.matmul(a, a).dtype).toBe('f64');
        autocast('f16', () => expect(g.matmul(b, b).dtype).toBe('f32'), { enabled: false });
        expect(g.matmul(b, b).dtype).toBe('f16');
      });
    });
  });

  it('rejects an async region and an unknown dtype', () => {
    expect(() => autocast('f16', async () => 1)).toThrow(/synchronous/);
    expect(() => autocast('bf16' as 'f16', () => 1)).toThrow(/dtype must be 'f16'/);
    expect(isAutocastEnabled()).toBe(false);
  });
});

describe('autocast weight casts (cached_cast)', () => {
  it('casts a trainable leaf once per region, keeps it until the region exits, and gives the f32 master an f32 gradient', async () => {
    g.manualSeed(2);
    const w = param([8, 16], true);
    w.requiresGrad = true;
    const x = g.randn([4, 16]).keep();
    const before = g.memoryReport().live.autocastWeightCopies;
    const loss = autocast('f16', () => {
      const y = g.tidy(() => g.add(g.linear(x, w), g.linear(x, w)));
      expect(autocastCacheSize()).toBe(1);
      // One f16 copy: 8 x 16 x 2 bytes, however many uses.
      expect(g.memoryReport().live.autocastWeightCopies - before).toBe(8 * 16 * 2);
      return g.tidy(() => g.sum(y));
    });
    expect(autocastCacheSize()).toBe(0);
    // x needs no grad, so the matmuls saved x, not the copy: the copy died with the cache.
    expect(g.memoryReport().live.autocastWeightCopies).toBe(before);
    loss.backward();
    expect(w.grad!.dtype).toBe('f32');
    // Reference: d sum(2 x W^T) / dW = 2 * column sums of x broadcast over rows, computed from f16-rounded x
    // and rounded to f16 by the f16 matmul backward before the cast up.
    const xs = await x.data();
    const expected = new Float32Array(8 * 16);
    for (let o = 0; o < 8; o++) for (let i = 0; i < 16; i++) {
      let s = 0;
      for (let r = 0; r < 4; r++) s += g.roundToF16(xs[r * 16 + i]);
      expected[o * 16 + i] = 2 * g.roundToF16(s);
    }
    const got = await w.grad!.data();
    for (let k = 0; k < got.length; k++) expect(got[k]).toBeCloseTo(expected[k], 2);
    g.dispose([w, x, loss]);
  });

  it('casts a frozen weight at every use; the tape keeps each copy while the other operand needs a gradient', () => {
    g.manualSeed(3);
    const frozen = param([8, 16], false);
    const x = g.randn([4, 16], { requiresGrad: true }).keep();
    const before = g.memoryReport().live.autocastWeightCopies;
    const loss = autocast('f16', () => g.tidy(() => {
      // A non-leaf input (like every activation): cast per use, never cached.
      const h = g.mul(x, 1);
      const y = g.add(g.linear(h, frozen), g.linear(h, frozen));
      expect(autocastCacheSize()).toBe(0);
      return g.sum(y);
    }));
    // Two uses, two copies, both held by the two matmul nodes for h's gradient (h's own
    // f16 casts are activations, not weight copies).
    expect(g.memoryReport().live.autocastWeightCopies - before).toBe(2 * 8 * 16 * 2);
    loss.backward();
    expect(g.memoryReport().live.autocastWeightCopies).toBe(before);
    expect(x.grad!.dtype).toBe('f32');
    expect(frozen.grad).toBeNull();
    g.dispose([frozen, x, loss]);
  });

  it('a frozen weight whose input needs no gradient is not kept', () => {
    const frozen = param([8, 16], false);
    const x = g.randn([4, 16]).keep();
    const before = g.memoryReport().live.autocastWeightCopies;
    const y = autocast('f16', () => g.tidy(() => g.linear(x, frozen)));
    expect(g.memoryReport().live.autocastWeightCopies).toBe(before);
    g.dispose([frozen, x, y]);
  });
});
