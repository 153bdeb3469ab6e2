// Edges of the autograd ops that StrykerJS found no test reaching
// (bench/results/mutation-score.md): concat's checks, slice's step and
// negative bounds, expand's -1, max without axes, x^0's gradient at 0,
// crossEntropy's 'sum' and 'none' and its label count check. Expected values
// follow PyTorch's documented behaviour and are worked out by hand.

import { beforeEach, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

beforeEach(() => { g.useBackend(new g.CpuBackend()); });

describe('views', () => {
  it('concat refuses tensors of another rank, dtype, or size off the concat axis', () => {
    const a = g.zeros([2, 3]);
    expect(() => g.concat([])).toThrow('concat: needs at least one tensor');
    expect(() => g.concat([a, g.zeros([2, 4])], 0)).toThrow('concat: ');
    expect(() => g.concat([a, g.zeros([2, 3, 1])])).toThrow('does not match');
    expect(() => g.concat([a, g.zeros([2, 3], { dtype: 'f64' })])).toThrow('does not match');
    expect(g.concat([a, g.zeros([2, 4])], 1).shape).toEqual([2, 7]); // only the concat axis may differ
    expect(g.concat([a, g.zeros([5, 3])], -2).shape).toEqual([7, 3]);
  });

  it('slice: a step must be a positive integer; negative bounds count from the end', async () => {
    const x = g.arange(6);
    for (const step of [0, -1, 1.5]) expect(() => g.slice(x, 0, 0, 6, step)).toThrow('slice: step must be a positive i');
    expect(await g.slice(x, 0, -2).toArray()).toEqual([4, 5]);
    expect(await g.slice(x, 0, -5, -1, 2).toArray()).toEqual([1, 3]);
    expect(await g.slice(x, 0, -100, 2).toArray()).toEqual([0, 1]); // clamped to the start, as Python slices
  });

  it('expand keeps a dimension given as -1 and adds leading ones', async () => {
    const x = g.tensor([[1], [2]]);
    const e = g.expand(x, [3, -1, 2]);
    expect(e.shape).toEqual([3, 2, 2]);
    expect(await e.toArray()).toEqual([[[1, 1], [2, 2]], [[1, 1], [2, 2]], [[1, 1], [2, 2]]]);
  });
});

describe('reductions and pow', () => {
  it('max over no axes is an error; over all axes (the default) it is the largest element', async () => {
    const x = g.tensor([[1, 5], [3, -2]]);
    expect(() => g.max(x, [])).toThrow('max: needs at least one axis');
    expect(await g.max(x).item()).toBe(5);
  });

  it('d(x^0)/dx is 0 everywhere, also at x = 0 (where 0 * x^-1 would be NaN)', async () => {
    const x = g.tensor([0, 2, -3], { requiresGrad: true });
    g.pow(x, 0).sum().backward();
    expect(await x.grad!.toArray()).toEqual([0, 0, 0]);
  });
});

describe('crossEntropy reductions', () => {
  // Two rows of equal logits over 4 classes: each row's loss is log(4).
  const logits = () => g.zeros([2, 4], { requiresGrad: true });
  const labels = () => g.tensor([1, 3], { dtype: 'i32' });

  it("'sum' adds the row losses; its gradient is softmax - onehot per row", async () => {
    const x = logits();
    const loss = g.crossEntropy(x, labels(), { reduction: 'sum' });
    expect(await loss.item()).toBeCloseTo(2 * Math.log(4), 6);
    loss.backward();
    expect(await x.grad!.toArray()).toEqual([[0.25, -0.75, 0.25, 0.25], [0.25, 0.25, 0.25, -0.75]]);
  });

  it("'none' gives each row's loss; a backward with per-row weights scales each row's gradient", async () => {
    const x = logits();
    const loss = g.crossEntropy(x, labels(), { reduction: 'none' });
    expect(loss.shape).toEqual([2]);
    const perRow = await loss.toArray();
    for (const v of perRow as number[]) expect(v).toBeCloseTo(Math.log(4), 6);
    g.mul(loss, g.tensor([2, 0])).sum().backward();
    const grad = (await x.grad!.toArray()) as number[][];
    expect(grad.map((row) => row.map((v) => v + 0))).toEqual([[0.5, -1.5, 0.5, 0.5], [0, 0, 0, 0]]); // + 0: -0.75 * 0 is -0
  });

  it('labels must be one per row of logits', () => {
    expect(() => g.crossEntropy(g.zeros([2, 4]), g.tensor([1, 2, 3], { dtype: 'i32' }))).toThrow('crossEntropy: labels');
  });

  it('an empty embedding table is refused before any kernel runs (also on the CPU)', () => {
    expect(() => g.embedding(g.zeros([0, 4]), g.tensor([0], { dtype: 'i32' }))).toThrow('embedding: the table [0, 4] f32 has no rows');
    expect(g.embedding(g.zeros([0, 4]), g.tensor([], { dtype: 'i32' })).shape).toEqual([0, 4]); // no lookups: nothing to refuse
  });
});
