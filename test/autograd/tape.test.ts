// Tape semantics: gradient accumulation across backward calls, explicit output
// gradients, grad mode, detach, retainGraph, and gradients against values
// derived by hand.

import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

const arr = async (t: g.Tensor | null) => Array.from(await t!.data());

describe('tape', () => {
  it('matches hand-derived gradients: d/dx sum(x^2 * w) = 2 x w, d/dw = x^2', async () => {
    const x = g.tensor([1, -2, 3], { dtype: 'f64', requiresGrad: true });
    const w = g.tensor([0.5, 2, -1], { dtype: 'f64', requiresGrad: true });
    g.mul(g.pow(x, 2), w).sum().backward();
    expect(await arr(x.grad)).toEqual([1, -8, -6]);
    expect(await arr(w.grad)).toEqual([1, 4, 9]);
  });

  it('.grad accumulates across backward calls until zeroGrad', async () => {
    const x = g.tensor([1, 2], { requiresGrad: true });
    g.mul(x, 3).sum().backward();
    g.mul(x, 4).sum().backward();
    expect(await arr(x.grad)).toEqual([7, 7]);
    g.zeroGrad([x]);
    expect(x.grad).toBeNull();
    g.mul(x, 2).sum().backward();
    expect(await arr(x.grad)).toEqual([2, 2]);
  });

  it('backward with an explicit output gradient computes the vector-Jacobian product', async () => {
    const x = g.tensor([1, 2, 3], { dtype: 'f64', requiresGrad: true });
    const y = g.exp(x);
    y.backward(g.tensor([1, 0, 2], { dtype: 'f64' }));
    const grad = await arr(x.grad);
    expect(grad[0]).toBeCloseTo(Math.E, 12);
    expect(grad[1]).toBe(0);
    expect(grad[2]).toBeCloseTo(2 * Math.exp(3), 10);
  });

  it('max shares the gradient evenly among ties (torch.amax), over one or several axes', async () => {
    const x = g.tensor([[1, 3, 3], [2, 0, 2]], { dtype: 'f64', requiresGrad: true });
    g.max(x, 1).sum().backward();
    expect(await arr(x.grad)).toEqual([0, 0.5, 0.5, 0.5, 0, 0.5]);
    g.zeroGrad([x]);
    g.max(x).backward(); // over all axes: the two 3s share
    expect(await arr(x.grad)).toEqual([0, 0.5, 0.5, 0, 0, 0]);
  });

  it('a tensor used twice gets the sum of both paths', async () => {
    const x = g.tensor([2], { dtype: 'f64', requiresGrad: true });
    g.add(g.mul(x, x), x).sum().backward(); // d/dx (x^2 + x) = 2x + 1
    expect(await arr(x.grad)).toEqual([5]);
  });

  it('noGrad records nothing; enableGrad inside it records again', () => {
    const x = g.ones([2], { requiresGrad: true });
    const y = g.noGrad(() => g.mul(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    const z = g.noGrad(() => g.enableGrad(() => g.mul(x, 2)));
    expect(z.requiresGrad).toBe(true);
  });

  it('detach cuts the graph but shares the data', async () => {
    const x = g.tensor([1, 2], { requiresGrad: true });
    const d = g.mul(x, 2).detach();
    expect(d.requiresGrad).toBe(false);
    expect(await arr(d)).toEqual([2, 4]);
    const y = g.add(g.mul(d, x), 0).sum(); // gradient flows only through x
    y.backward();
    expect(await arr(x.grad)).toEqual([2, 4]);
  });

  it('retainGraph lets backward run twice, accumulating', async () => {
    const x = g.tensor([1, 2], { dtype: 'f64', requiresGrad: true });
    const y = g.exp(x).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect((await arr(x.grad))[0]).toBeCloseTo(2 * Math.E, 12);
  });

  it('only inputs that need grad get gradients, and matmul saves only what they need', () => {
    g.useBackend(new g.CpuBackend());
    const frozen = g.ones([4, 4]);
    const trainable = g.ones([4, 4], { requiresGrad: true });
    const x = g.ones([2, 4]);
    // x @ frozen^T: nothing needs grad -> nothing recorded.
    const a = g.linear(x, frozen);
    expect(a.requiresGrad).toBe(false);
    // x @ trainable^T saves x (for the weight's grad), not the weight.
    const b = g.linear(x, trainable);
    expect(g.memoryReport().live.savedActivations).toBe(x.bytes);
    b.sum().backward();
    expect(frozen.grad).toBeNull();
    expect(trainable.grad).not.toBeNull();
  });
});
