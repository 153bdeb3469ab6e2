// Per-kernel GPU time from timestamp queries, behind a switch (the `profile`
// option or GRADLAB_WEBGPU_PROFILE=1). Totals are per kernel label and
// count every dispatch; with the switch off nothing is measured.

import { describe, expect, it } from 'vitest';
import { createWebGpuBackend, probeWebGpu } from '../../src/backends/webgpu/index.js';
import { profileFromEnv } from '../../src/backends/webgpu/options.js';
import { openWebGpu } from './helpers/webgpu-fixture.js';

describe('profiling switch', () => {
  it('reads GRADLAB_WEBGPU_PROFILE', () => {
    expect(profileFromEnv({})).toBe(false);
    expect(profileFromEnv({ GRADLAB_WEBGPU_PROFILE: '1' })).toBe(true);
    expect(profileFromEnv({ GRADLAB_WEBGPU_PROFILE: '0' })).toBe(false);
    expect(profileFromEnv({ GRADLAB_WEBGPU_PROFILE: 'false' })).toBe(false);
  });
});

const probe = await probeWebGpu();
const timed = probe.attempts.find((a) => a.ok && a.adapter!.timestampQuery);
const untimed = probe.attempts.find((a) => a.ok && !a.adapter!.timestampQuery);

const profiled = timed ? await openWebGpu('profiling', { adapter: timed.kind, profile: true }) : null;
if (!timed) console.log('[webgpu profiling] SKIPPED the timing tests: no adapter offers timestamp-query');

if (profiled) {
  describe(`kernel times (${profiled.adapter.kind})`, () => {
    it('sums GPU time per kernel label and counts each dispatch', async () => {
      const n = 256;
      const a = profiled.alloc('f32', n * n);
      const c = profiled.alloc('f32', n * n);
      profiled.fill(a, 0.5);
      await profiled.sync();
      profiled.resetKernelTimes();
      for (let i = 0; i < 3; i++) {
        profiled.matmul({ batch: 1, m: n, n, k: n }, { buffer: a, offset: 0, batchStride: 0, transposed: false }, { buffer: a, offset: 0, batchStride: 0, transposed: true }, c);
      }
      profiled.unary('exp', [n * n], { buffer: c, offset: 0, strides: [1] }, a, 0);
      const times = await profiled.kernelTimes();
      const matmul = times.find((t) => t.kernel === 'matmul[f32]');
      const exp = times.find((t) => t.kernel === 'unary.exp[f32]');
      expect(matmul?.dispatches).toBe(3);
      expect(exp?.dispatches).toBe(1);
      expect(matmul!.totalMs).toBeGreaterThan(0);
      // Three 256^3 matmuls cost more GPU time than one exp over 256^2 elements.
      expect(matmul!.totalMs).toBeGreaterThan(exp!.totalMs);
      profiled.resetKernelTimes();
      expect(await profiled.kernelTimes()).toEqual([]);
      profiled.free(a);
      profiled.free(c);
    });
  });

  it('measures nothing with the switch off', async () => {
    const plain = await createWebGpuBackend({ adapter: profiled.adapter.kind, profile: false });
    try {
      expect(plain.profiling.enabled).toBe(false);
      const x = plain.alloc('f32', 8);
      plain.fill(x, 1);
      expect(await plain.kernelTimes()).toEqual([]);
    } finally {
      plain.destroy();
    }
  });
}

if (untimed) {
  it(`says why profiling is off on an adapter without timestamp-query (${untimed.kind})`, async () => {
    const backend = await createWebGpuBackend({ adapter: untimed.kind, profile: true });
    try {
      expect(backend.profiling.enabled).toBe(false);
      expect(backend.profiling.unavailableReason).toMatch(/lacks timestamp-query/);
    } finally {
      backend.destroy();
    }
  });
}
