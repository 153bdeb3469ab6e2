// Lazy submission: kernels are recorded, not submitted, until a readback, a
// sync, or a full batch; host writes made while work is pending land in
// program order; pipelines are compiled once per program and shared by every
// shape.

import { describe, expect, it } from 'vitest';
import { openWebGpu } from './helpers/webgpu-fixture.js';

const backend = await openWebGpu('batched submission', { adapter: 'auto', maxDispatchesPerBatch: 8 });

const dense = (buffer: import('../../src/backends/backend.js').BackendBuffer, n: number) => ({ buffer, offset: 0, strides: [1] as number[], n });

if (backend) {
  describe('batched submission', () => {
    it('records dispatches without submitting until a readback, then submits once', async () => {
      await backend.sync();
      const x = backend.alloc('f32', 16);
      const y = backend.alloc('f32', 16);
      backend.fill(x, 2);
      const before = backend.streamStats();
      for (let i = 0; i < 5; i++) backend.unary('addScalar', [16], dense(x, 16), y, 1);
      const recorded = backend.streamStats();
      expect(recorded.submits - before.submits).toBe(0);
      expect(recorded.pendingDispatches).toBe(before.pendingDispatches + 5);
      expect([...(await backend.read(y))]).toEqual(new Array(16).fill(3));
      const after = backend.streamStats();
      expect(after.submits - recorded.submits).toBe(1);
      expect(after.pendingDispatches).toBe(0);
      backend.free(x);
      backend.free(y);
    });

    it('submits on its own when a batch is full (maxDispatchesPerBatch = 8)', async () => {
      await backend.sync();
      const x = backend.alloc('f32', 4);
      backend.fill(x, 0);
      const outs = Array.from({ length: 20 }, () => backend.alloc('f32', 4));
      await backend.sync();
      const before = backend.streamStats();
      outs.forEach((out, i) => backend.unary('addScalar', [4], dense(x, 4), out, i));
      const after = backend.streamStats();
      expect(after.submits - before.submits).toBe(2); // after dispatches 8 and 16
      expect(after.pendingDispatches).toBe(4);
      await backend.sync();
      expect(backend.streamStats().pendingDispatches).toBe(0);
      backend.free(x);
      for (const out of outs) backend.free(out);
    });

    it('a host write made while earlier work is pending does not overtake that work', async () => {
      const x = backend.alloc('f32', 3);
      const y = backend.alloc('f32', 3);
      backend.write(x, new Float32Array([1, 2, 3]));
      backend.unary('neg', [3], dense(x, 3), y, 0); // pending: reads x
      backend.write(x, new Float32Array([7, 8, 9])); // must land after the neg
      const z = backend.alloc('f32', 3);
      backend.unary('neg', [3], dense(x, 3), z, 0); // reads the new x
      expect([...(await backend.read(y))]).toEqual([-1, -2, -3]);
      expect([...(await backend.read(z))]).toEqual([-7, -8, -9]);
      for (const b of [x, y, z]) backend.free(b);
    });

    it('compiles one pipeline per program and reuses it for other shapes, ops and strides of the same rank class', async () => {
      const x = backend.alloc('f32', 64);
      const y = backend.alloc('f32', 64);
      backend.fill(x, 1);
      backend.unary('exp', [64], dense(x, 64), y, 0); // may compile the rank-1 f32 unary program
      const before = backend.pipelineStats();
      backend.unary('exp', [10], dense(x, 10), y, 0);
      backend.unary('sqrt', [7], { buffer: x, offset: 3, strides: [5] }, y, 0);
      backend.unary('mulScalar', [32], { buffer: x, offset: 0, strides: [2] }, y, 4);
      const after = backend.pipelineStats();
      expect(after.misses - before.misses).toBe(0);
      expect(after.hits - before.hits).toBe(3);
      backend.unary('exp', [4, 4], { buffer: x, offset: 0, strides: [8, 1] }, y, 0); // rank 2: the N-d program
      expect(backend.pipelineStats().pipelines).toBeGreaterThanOrEqual(after.pipelines);
      await backend.sync();
      backend.free(x);
      backend.free(y);
    });

    it('shares bind-group layouts between programs with the same binding signature', () => {
      const stats = backend.pipelineStats();
      expect(stats.layouts).toBeLessThan(stats.pipelines);
    });
  });
}
