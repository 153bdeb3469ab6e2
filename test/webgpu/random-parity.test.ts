// The counter-based RNG draws the same Philox words as the CPU, so random
// fills and dropout masks agree element by element. Uniform bounds that are
// small integers are computed exactly and must match the CPU bit for bit;
// other bounds round twice in f32 (within one ulp); normals go through an
// accurate log and cos and agree to about 1e-6.

import { describe, expect, it } from 'vitest';
import type { RandomDistribution } from '../../src/backends/backend.js';
import { expectClose, expectSameAsCpu, normals, runOnBoth } from './helpers/cpu-oracle.js';
import { openWebGpu } from './helpers/webgpu-fixture.js';

const backend = await openWebGpu('random parity', { adapter: 'auto' });
const N = 10_000;

const fill = (distribution: RandomDistribution, a: number, b: number, seed = 1234, offset = 5) =>
  (k: import('../../src/backends/backend.js').Backend, [out]: import('../../src/backends/backend.js').BackendBuffer[]) =>
    k.random(out, distribution, seed, offset, a, b);

if (backend) {
  describe(`random fills match the CPU (${backend.name})`, () => {
    it('uniform with integer bounds: bit for bit', async () => {
      for (const [a, b] of [[0, 1], [-1, 1], [-1, 2], [3, 7]]) {
        await expectSameAsCpu(backend, [{ dtype: 'f32', values: N }], fill('uniform', a, b), [0], { rtol: 0, atol: 0 }, `U(${a}, ${b})`);
      }
    });

    it('uniform with other bounds: within one f32 ulp', async () => {
      for (const [a, b] of [[-0.1, 0.1], [0.25, 1.75], [-1e-3, 5e-3]]) {
        await expectSameAsCpu(backend, [{ dtype: 'f32', values: N }], fill('uniform', a, b), [0], { rtol: 2 ** -23, atol: 2 ** -24 * Math.abs(b - a) }, `U(${a}, ${b})`);
      }
    });

    it('normal: within 1e-6 of the f64 Box-Muller', async () => {
      await expectSameAsCpu(backend, [{ dtype: 'f32', values: N }], fill('normal', 0, 1, 99, 2 ** 40 + 3), [0], { rtol: 2e-6, atol: 1e-6 }, 'N(0, 1)');
    });

    it('f16 fills are the f32 values rounded to f16 (one ulp for double rounding)', async () => {
      await expectSameAsCpu(backend, [{ dtype: 'f16', values: N }], fill('uniform', -1, 1), [0], { rtol: 2 ** -10, atol: 2 ** -24 }, 'U(-1, 1) f16');
    });

    it('dropout drops exactly the elements the CPU drops and scales the rest', async () => {
      const x = normals(N, 3);
      const { expected, got } = await runOnBoth(backend, [{ dtype: 'f32', values: x }, { dtype: 'f32', values: N }],
        (k, [input, out]) => k.dropout!(input, N, 0.1, 77, 12_345, out), [1]);
      const droppedCpu = expected[0].reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
      const droppedGpu = got[0].reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
      expect(droppedGpu).toBe(droppedCpu);
      expect(droppedCpu).toBeGreaterThan(N * 0.08);
      expect(droppedCpu).toBeLessThan(N * 0.12);
      expectClose(got[0], expected[0], { rtol: 2e-7, atol: 0 }, 'dropout');
    });
  });
}
