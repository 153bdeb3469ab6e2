// checkpoint(): PyTorch's non-reentrant semantics. Gradients are bitwise
// identical to the plain run (dropout included, since the generator state is
// replayed), only the inputs stay saved during forward, and the recomputation
// is counted as its own phase.

import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

function mlpSegment(w1: g.Tensor, w2: g.Tensor) {
  return (x: g.Tensor) => g.linear(g.dropout(g.silu(g.linear(x, w1)), 0.3), w2);
}

async function gradsOf(useCheckpoint: boolean, seed: number) {
  g.useBackend(new g.CpuBackend());
  g.manualSeed(seed);
  const [w1, w2, w3] = [[16, 8], [8, 16], [8, 8]].map((shape) => g.randn(shape, { requiresGrad: true }).setStorageRole('parameter', true));
  const x = g.randn([5, 8]);
  const seg = mlpSegment(w1, w2);
  g.resetPeakMemory();
  const loss = g.tidy(() => {
    const h = useCheckpoint ? g.checkpoint(seg, x) : seg(x);
    const h2 = g.linear(g.dropout(h, 0.2), w3); // dropout after the region: the generator must resume correctly
    return g.mul(h2, h2).mean();
  });
  const savedDuringForward = g.memoryReport().live.savedActivations;
  loss.backward();
  const work = g.workReport();
  const grads = await Promise.all([w1, w2, w3].map(async (w) => Array.from(await w.grad!.data())));
  return { loss: await loss.item(), grads, savedDuringForward, peak: g.memoryReport().peak, work };
}

describe('checkpoint', () => {
  it('gives bitwise identical gradients and loss, with dropout inside and after the region', async () => {
    const plain = await gradsOf(false, 42);
    const ckpt = await gradsOf(true, 42);
    expect(ckpt.loss).toBe(plain.loss);
    expect(ckpt.grads).toEqual(plain.grads);
  });

  it('keeps only the region inputs saved during forward', async () => {
    const plain = await gradsOf(false, 1);
    const ckpt = await gradsOf(true, 1);
    // Region saves inside: x (5x8) for w1, silu input (5x16), w1-branch dropout nothing, its output (5x16) for w2.
    const f32 = 4;
    const inside = (5 * 8 + 5 * 16 + 5 * 16) * f32;
    // After the region (identical in both): dropout nothing, h-dropout (5x8) for w3, h2 (5x8) twice for mul, counted once.
    const after = (5 * 8 + 5 * 8) * f32;
    expect(plain.savedDuringForward).toBe(inside + after);
    // With checkpointing only the input x (5x8) is held for the region.
    expect(ckpt.savedDuringForward).toBe(5 * 8 * f32 + after);
  });

  it('counts the recomputed forward as its own phase, equal in FLOPs to the region forward', async () => {
    const plain = await gradsOf(false, 3);
    const ckpt = await gradsOf(true, 3);
    expect(plain.work.byPhase.recomputation.flops).toBe(0);
    expect(ckpt.work.byPhase.recomputation.calls).toBeGreaterThan(0);
    // Forward FLOPs are equal; the recomputation re-does the region's matmuls (2*5*8*16*2) and elementwise work.
    expect(ckpt.work.byPhase.forward.flops).toBe(plain.work.byPhase.forward.flops);
    expect(ckpt.work.byKernel.recomputation.matmul.flops).toBe(2 * (2 * 5 * 8 * 16));
    expect(ckpt.work.byPhase.backward.flops).toBe(plain.work.byPhase.backward.flops);
  });

  it('gives parameters inside the region gradients even when no input requires grad', async () => {
    const w = g.ones([3, 3], { requiresGrad: true });
    const x = g.ones([2, 3]);
    const y = g.checkpoint((t) => g.linear(t, w), x);
    y.sum().backward();
    expect(Array.from(await w.grad!.data())).toEqual(Array(9).fill(2));
  });

  it('refuses a region that does different ops when recomputed', () => {
    const w = g.ones([3, 3], { requiresGrad: true });
    const x = g.ones([2, 3]);
    let calls = 0;
    const y = g.checkpoint((t) => (calls++ === 0 ? g.exp(g.linear(t, w)) : g.linear(t, w)), x);
    expect(() => y.sum().backward()).toThrow(/recomputation saved 1 tensors but the forward saved 2/);
  });

  it('is a plain call under noGrad', () => {
    const w = g.ones([3, 3], { requiresGrad: true });
    const y = g.noGrad(() => g.checkpoint((t) => g.linear(t, w), g.ones([1, 3])));
    expect(y.requiresGrad).toBe(false);
  });
});
