// The work counter: FLOPs and bytes from shapes, split by phase.

import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

describe('work counter', () => {
  it('counts 2mnk FLOPs per matmul and splits forward from backward', () => {
    g.useBackend(new g.CpuBackend());
    const m = 6, k = 5, n = 7;
    const a = g.randn([m, k], { requiresGrad: true });
    const b = g.randn([k, n], { requiresGrad: true });
    g.resetWork();
    const y = g.matmul(a, b);
    const fwd = g.workReport();
    expect(fwd.byKernel.forward.matmul).toEqual({ calls: 1, flops: 2 * m * n * k, bytes: (m * k + k * n + m * n) * 4 });
    y.backward(g.ones([m, n]));
    const all = g.workReport();
    // Backward: g @ b^T (m x n x k) and a^T @ g (k x m x n).
    expect(all.byKernel.backward.matmul.calls).toBe(2);
    expect(all.byKernel.backward.matmul.flops).toBe(2 * (2 * m * n * k));
    expect(all.byPhase.optimizer.calls).toBe(0);
    expect(all.total.flops).toBe(all.byPhase.forward.flops + all.byPhase.backward.flops);
    expect(String(all)).toMatch(/backward\s+\d+/);
  });

  it('attributes work to the phase set by withPhase', () => {
    g.useBackend(new g.CpuBackend());
    const p = g.ones([10]);
    g.resetWork();
    g.withPhase('optimizer', () => g.noGrad(() => g.mul(p, 0.5)));
    expect(g.workReport().byPhase.optimizer).toEqual({ calls: 1, flops: 10, bytes: 80 });
  });
});
