// Scopes free what they don't return; misuse fails loudly, naming the op,
// the shapes and the dtypes involved.

import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { copyIntoView } from '../../src/tensor/kernel-ops.js';

describe('tidy, keep, dispose', () => {
  it('tidy disposes what it does not return; returned tensors survive (nested too)', () => {
    let inner!: g.Tensor;
    const result = g.tidy(() => {
      const a = g.ones([3]);
      inner = g.noGrad(() => a.add(1));
      const kept = g.zeros([2]).keep();
      const nested = g.tidy(() => ({ x: g.ones([1]), list: [g.zeros([1])] }));
      return { out: inner, kept, nested, dropped: null as g.Tensor | null, a };
    });
    expect(result.out.isDisposed).toBe(false);
    expect(result.nested.x.isDisposed).toBe(false);
    expect(result.nested.list[0].isDisposed).toBe(false);
    expect(result.kept.isDisposed).toBe(false);
    g.dispose(result);
    expect(inner.isDisposed).toBe(true);
  });

  it('tidy disposes intermediates when the function throws', () => {
    const live = () => g.memoryReport().liveTotal;
    const before = live();
    expect(() => g.tidy(() => { g.ones([100]); throw new Error('boom'); })).toThrow('boom');
    expect(live()).toBe(before);
  });

  it('tidy refuses async functions', () => {
    expect(() => g.tidy((async () => g.ones([1])) as unknown as () => g.Tensor)).toThrow(/synchronous/);
  });

  it('a returned input from an outer scope is not adopted by the inner scope', () => {
    const outer = g.ones([2]).keep();
    const same = g.tidy(() => g.dropout(outer, 0.5, false));
    expect(same).toBe(outer);
    expect(outer.isDisposed).toBe(false);
    outer.dispose();
  });
});

describe('clear errors', () => {
  it('use after dispose names the op and the tensor', async () => {
    const x = g.ones([2, 3]);
    x.dispose();
    expect(() => g.exp(x)).toThrow(/exp: tensor \[2, 3\] f32 was used after dispose\(\)/);
    await expect(x.data()).rejects.toThrow(/rawData.*\[2, 3\] f32.*after dispose/);
  });

  it('shape mismatches name the op and both shapes', () => {
    const a = g.ones([2, 3]);
    const b = g.ones([4]);
    expect(() => g.add(a, b)).toThrow(/add: shapes \[2, 3\] and \[4\] cannot be broadcast/);
    expect(() => g.matmul(a, g.ones([4, 5]))).toThrow(/matmul: inner dimensions differ: \[2, 3\] f32 @ \[4, 5\] f32/);
    expect(() => g.reshape(a, [4, 2])).toThrow(/reshape: cannot reshape 6 elements into \[4, 2\]/);
    expect(() => g.rmsNorm(a, g.ones([4]))).toThrow(/rmsNorm: weight \[4\] f32 does not match the last axis of \[2, 3\] f32/);
  });

  it('dtype errors name the op and dtypes', () => {
    const ints = g.tensor(Int32Array.from([1, 2]), [2]);
    expect(() => g.exp(ints)).toThrow(/exp: expected a float tensor, got \[2\] i32/);
    expect(() => g.embedding(g.ones([3, 2]), g.ones([2]))).toThrow(/embedding: indices must be i32, got \[2\] f32/);
    expect(() => g.tensor([1.5], { dtype: 'i32' })).toThrow(/not an integer/);
  });

  it('out-of-range embedding indices name the index and position', () => {
    const w = g.ones([3, 2]);
    expect(() => g.embedding(w, g.tensor(Int32Array.from([0, 7]), [2]))).toThrow(/embedding: index 7 at position 1 is out of range \[0, 3\)/);
  });

  it('backward through a freed graph names the op', () => {
    const x = g.tensor([1, 2, 3], { requiresGrad: true });
    const y = g.exp(x).sum();
    y.backward();
    expect(() => y.backward()).toThrow(/'exp' \(output \[3\]\) already ran its backward and freed its saved tensors/);
  });

  it('backward on a tensor that needs no grad, or a non-scalar without a gradient, is an error', () => {
    expect(() => g.ones([1]).backward()).toThrow(/does not require grad/);
    const x = g.ones([2], { requiresGrad: true });
    expect(() => g.mul(x, 2).backward()).toThrow(/one-element output.*\[2\] f32/);
  });

  it('an in-place change of a saved tensor is caught in backward', () => {
    const w = g.ones([2, 2], { requiresGrad: true });
    const x = g.ones([3, 2]);
    const y = g.matmul(x, w).sum(); // saves x for w's gradient
    // Overwrite x in place through the engine's own in-place copy.
    const fresh = g.full([3, 2], 5);
    copyIntoView(fresh, x);
    expect(() => y.backward()).toThrow(/saved by 'matmul' was modified in place/);
    fresh.dispose();
  });

  it('mixing backends is refused', () => {
    const a = g.ones([2]);
    const other = new g.CpuBackend();
    const b = g.withBackend(other, () => g.ones([2]));
    expect(() => g.add(a, b)).toThrow(/add: tensors live on different backends/);
  });
});
