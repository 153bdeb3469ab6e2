// The ledger's figures are exact: each test derives the expected bytes by
// hand from shapes, dtypes and the ops' documented saving rules.

import { beforeEach, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

let report = () => g.memoryReport();

beforeEach(() => {
  g.useBackend(new g.CpuBackend()); // a fresh context: its ledger starts at zero
  report = () => g.memoryReport();
});

describe('memory ledger', () => {
  it('tracks live bytes per category and the exact peak with its breakdown', () => {
    const a = g.zeros([10]); // f32: 40 B
    const b = g.ones([5], { dtype: 'f64' }); // 40 B
    expect(report().live.temporaries).toBe(80);
    a.dispose();
    const c = g.zeros([2, 3], { dtype: 'f16' }); // 12 B
    expect(report().liveTotal).toBe(52);
    expect(report().peakTotal).toBe(80);
    expect(report().peak.temporaries).toBe(80);
    g.resetPeakMemory();
    expect(report().peakTotal).toBe(52);
    const p = g.zeros([4]).setStorageRole('parameter', true); // 16 B trainable
    const f = g.zeros([3]).setStorageRole('parameter', false); // 12 B frozen
    expect(report().live.parametersTrainable).toBe(16);
    expect(report().live.parametersFrozen).toBe(12);
    expect(report().peakTotal).toBe(80);
    expect(report().peak).toMatchObject({ temporaries: 52, parametersTrainable: 16, parametersFrozen: 12 });
    // Each category's own maximum since the reset: temporaries reached 52 + 16 when p was allocated, before it became a parameter.
    expect(report().maxByCategory).toMatchObject({ temporaries: 68, parametersTrainable: 16, parametersFrozen: 12 });
    // A view shares storage: no new bytes.
    const v = b.reshape([5, 1]);
    expect(report().liveTotal).toBe(80);
    g.dispose([b, c, p, f]);
    expect(report().liveTotal).toBe(40); // the view keeps b's storage alive
    v.dispose();
    expect(report().liveTotal).toBe(0);
    expect(report().liveTensors).toBe(0);
  });

  it('records the peak of a scripted program to the byte', () => {
    const t1 = g.zeros([100]); // +400
    g.resetPeakMemory();
    const t2 = g.noGrad(() => t1.add(1)); // +400 -> 800
    t1.dispose(); // 400
    const t3 = g.noGrad(() => t2.mul(t2)); // +400 -> 800
    const t4 = g.noGrad(() => t3.sum()); // +4 -> 804
    expect(report().peakTotal).toBe(804);
    g.dispose([t2, t3, t4]);
    expect(report().liveTotal).toBe(0);
    expect(report().peakTotal).toBe(804);
  });

  it('saved activations are exactly the bytes of the tensors the tape holds', () => {
    const batch = 16, inF = 4, hidden = 8;
    const w1 = g.randn([hidden, inF], { requiresGrad: true }).setStorageRole('parameter', true);
    const w2 = g.randn([1, hidden], { requiresGrad: true }).setStorageRole('parameter', true);
    const x = g.randn([batch, inF]);
    const y = g.randn([batch, 1]);
    const loss = g.tidy(() => {
      const h = g.relu(g.linear(x, w1)); // linear saves x (w1 needs grad); relu saves its output h
      const out = g.linear(h, w2); // saves h again (same storage, counted once)
      return g.pow(g.sub(out, y), 2).mean(); // pow saves its input (batch, 1); sub, sum, mulScalar save nothing
    });
    const f32 = 4;
    const expectedSaved = batch * inF * f32 + batch * hidden * f32 + batch * 1 * f32;
    expect(report().live.savedActivations).toBe(expectedSaved);
    loss.backward();
    // After backward every saved tensor was released; x is back to a plain temporary.
    expect(report().live.savedActivations).toBe(0);
    expect(report().live.gradients).toBe((hidden * inF + hidden) * f32);
    loss.dispose();
    g.dispose([w1, w2, x, y]);
    expect(report().liveTotal).toBe(0);
  });

  it('a forward+backward of a small MLP returns live bytes to parameters + gradients', () => {
    const w1 = g.randn([32, 8], { requiresGrad: true }).setStorageRole('parameter', true);
    const w2 = g.randn([4, 32], { requiresGrad: true }).setStorageRole('parameter', true);
    const x = g.randn([10, 8]);
    const labels = g.tensor(Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3, -100, 1]), [10]);
    const baseline = report().liveTotal;
    for (let step = 0; step < 3; step++) {
      const loss = g.tidy(() => g.crossEntropy(g.linear(g.silu(g.linear(x, w1)), w2), labels));
      loss.backward();
      loss.dispose();
      const gradBytes = (32 * 8 + 4 * 32) * 4;
      expect(report().liveTotal).toBe(baseline + gradBytes);
      expect(report().live.temporaries).toBe(x.bytes + labels.bytes);
      expect(report().live.savedActivations).toBe(0);
    }
    g.zeroGrad([w1, w2]);
    expect(report().liveTotal).toBe(baseline);
    g.dispose([w1, w2, x, labels]);
  });

  it('an unused graph is freed as soon as its output is disposed', () => {
    const w = g.randn([64, 64], { requiresGrad: true });
    const x = g.randn([8, 64]);
    const before = report().liveTotal;
    const y = g.tidy(() => g.exp(g.linear(x, w)).sum());
    expect(report().live.savedActivations).toBeGreaterThan(0);
    y.dispose();
    expect(report().liveTotal).toBe(before);
    expect(report().live.savedActivations).toBe(0);
    g.dispose([w, x]);
  });

  it('prints a readable table', () => {
    const t = g.zeros([256]);
    const text = g.memoryReport().toString();
    expect(text).toMatch(/temporaries\s+1\.00 KiB/);
    expect(text).toMatch(/saved activations/);
    t.dispose();
  });
});
