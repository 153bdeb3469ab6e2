// Matmuls whose sizes are not multiples of the tile (64 or 128) or of the
// vector width (4), degenerate sizes, every transpose combination, broadcast
// batches, and operand offsets/batch strides that force the scalar loads.

import { describe, it } from 'vitest';
import { MATMUL_TILES } from '../../src/backends/webgpu/index.js';
import { expectSameAsCpu, normals } from './helpers/cpu-oracle.js';
import { expectSpecCase } from './helpers/spec-case.js';
import { kernelsOf, openWebGpu } from './helpers/webgpu-fixture.js';

const native = await openWebGpu('odd-shape matmul (vulkan)', { adapter: 'vulkan' });
const packed = await openWebGpu('odd-shape matmul (vulkan, packed f16)', { adapter: 'vulkan', f16: 'packed' });

const flags = (aT: boolean, bT: boolean) => ({ aTransposed: aT, bTransposed: bT, aBroadcast: false, bBroadcast: false });
const TRANSPOSES = [[false, false], [true, false], [false, true], [true, true]] as const;

for (const [label, backend, dtypes] of [['native', native, ['f32', 'f16']], ['packed', packed, ['f16']]] as const) {
  if (!backend) continue;
  const kernels = kernelsOf(backend);
  describe(`matmul odd shapes (${label})`, () => {
    for (const dtype of dtypes) {
      it(`${dtype}: 65x129x70 crosses 64-wide tiles in every transpose combination`, async () => {
        for (const [aT, bT] of TRANSPOSES) await expectSpecCase(kernels, 'matmul', dtype, { batch: 1, m: 65, n: 129, k: 70, ...flags(aT, bT) });
      });
      it(`${dtype}: sizes that are multiples of 4 take the vector loads, in every transpose combination`, async () => {
        for (const [aT, bT] of TRANSPOSES) await expectSpecCase(kernels, 'matmul', dtype, { batch: 2, m: 68, n: 132, k: 36, ...flags(aT, bT) });
      });
      it(`${dtype}: exact tile multiples and one past them`, async () => {
        await expectSpecCase(kernels, 'matmul', dtype, { batch: 1, m: 64, n: 64, k: 64, ...flags(false, false) });
        await expectSpecCase(kernels, 'matmul', dtype, { batch: 1, m: 65, n: 65, k: 9, ...flags(false, true) });
      });
      it(`${dtype}: degenerate sizes (1 and 0)`, async () => {
        for (const [m, n, k] of [[1, 1, 1], [1, 77, 5], [77, 1, 5], [5, 7, 1], [3, 4, 0], [1, 1, 300]]) {
          await expectSpecCase(kernels, 'matmul', dtype, { batch: 1, m, n, k, ...flags(false, false) });
        }
      });
      it(`${dtype}: broadcast batches on either side`, async () => {
        await expectSpecCase(kernels, 'matmul', dtype, { batch: 3, m: 17, n: 33, k: 12, aTransposed: false, bTransposed: true, aBroadcast: true, bBroadcast: false });
        await expectSpecCase(kernels, 'matmul', dtype, { batch: 3, m: 17, n: 33, k: 12, aTransposed: true, bTransposed: false, aBroadcast: false, bBroadcast: true });
      });
    }
  });
}

if (native) {
  describe('matmul large tile and misaligned operands (native)', () => {
    it('f32: 513x515x33 crosses the 128x128 tile used for large outputs', async () => {
      await expectSpecCase(kernelsOf(native), 'matmul', 'f32', { batch: 1, m: 513, n: 515, k: 33, ...flags(false, true) }, 3);
    });

    it('f32: odd offsets and batch strides (scalar loads) match the CPU reference', async () => {
      const [batch, m, n, k] = [2, 9, 11, 8];
      const aStride = m * k + 3;
      const bStride = k * n + 1;
      await expectSameAsCpu(native, [
        { dtype: 'f32', values: normals(5 + batch * aStride, 1) },
        { dtype: 'f32', values: normals(7 + batch * bStride, 2) },
        { dtype: 'f32', values: batch * m * n },
      ], (k_, [a, b, out]) => k_.matmul({ batch, m, n, k },
        { buffer: a, offset: 5, batchStride: aStride, transposed: true },
        { buffer: b, offset: 7, batchStride: bStride, transposed: false }, out), [2], { rtol: 1e-5, atol: 1e-5 }, 'offset matmul');
    });

    it('f32: a forced tiling gives the same result (benchmarks compare tilings)', async () => {
      const { createWebGpuBackend } = await import('../../src/backends/webgpu/index.js');
      const tiled = await createWebGpuBackend({ adapter: 'vulkan', matmulTile: MATMUL_TILES.large });
      try {
        await expectSpecCase(kernelsOf(tiled), 'matmul', 'f32', { batch: 2, m: 65, n: 129, k: 70, ...flags(true, false) });
      } finally {
        tiled.destroy();
      }
    });
  });
}
