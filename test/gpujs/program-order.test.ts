// Every call takes effect in program order even where gpu.js is asynchronous
// (a webgpu kernel's first run waits for its shader; webasm runs big kernels on
// worker threads): a write issued after a kernel does not leak into it, a freed
// and reused buffer is not overwritten early, and a read sees all earlier work.

import { describe, expect, it } from 'vitest';
import { loadGpuJs } from '../../src/backends/gpujs/gpujs-library.js';
import { openAllModes, values } from './helpers/gpujs-fixture.js';

const backends = await openAllModes();

for (const backend of backends) {
  describe(`program order on gpujs ${backend.mode}`, () => {
    it('a kernel reads its inputs as they were when it was called', async () => {
      const n = 5000; // past webasm's threading threshold
      const x = backend.alloc('f32', n);
      const y = backend.alloc('f32', n);
      const z = backend.alloc('f32', n);
      const deferredBefore = backend.stats().deferredSteps;
      backend.write(x, new Float32Array(n).fill(1));
      // A transposed walk (a rank-2 kernel) of sin, used nowhere else in this file: on webgpu the
      // call waits for its shader to compile; on webasm it runs on worker threads.
      const transposed = { buffer: x, offset: 0, strides: [1, 100] };
      backend.unary('sin', [100, 50], transposed, y, 0);
      backend.write(x, new Float32Array(n).fill(2)); // must not be seen by the sin above
      backend.unary('sin', [100, 50], transposed, z, 0);
      const [ys, zs] = [await values(backend, y), await values(backend, z)];
      expect(ys.every((v) => Math.abs(v - Math.sin(1)) < 1e-6)).toBe(true);
      expect(zs.every((v) => Math.abs(v - Math.sin(2)) < 1e-6)).toBe(true);
      // The asynchronous paths were really taken (cpu mode has none).
      const deferred = backend.stats().deferredSteps - deferredBefore;
      if (backend.mode === 'cpu') expect(deferred).toBe(0);
      else expect(deferred).toBeGreaterThan(0);
      for (const b of [x, y, z]) backend.free(b);
    });

    it('a freed buffer reused by a new allocation keeps the values of pending kernels apart', async () => {
      const n = 6000;
      const a = backend.alloc('f32', n);
      const out = backend.alloc('f32', n);
      backend.fill(a, 3);
      backend.unary('mulScalar', [n], { buffer: a, offset: 0, strides: [1] }, out, 2);
      backend.free(a);
      const b = backend.alloc('f32', n); // the pool hands back a's block
      backend.fill(b, 100);
      const got = await values(backend, out);
      expect(got.every((v) => v === 6)).toBe(true);
      expect((await values(backend, b)).every((v) => v === 100)).toBe(true);
      backend.free(b);
      backend.free(out);
    });

    it('a chain of dependent kernels computes in order', async () => {
      const x = backend.alloc('f32', 4096);
      backend.fill(x, 0);
      for (let i = 0; i < 20; i++) backend.unary('addScalar', [4096], { buffer: x, offset: 0, strides: [1] }, x, 1);
      const got = await values(backend, x);
      expect(got.every((v) => v === 20)).toBe(true);
      backend.free(x);
    });

    if (backend.mode === 'webgpu') {
      it('sync() waits for the device, not only for the calls to be submitted', async () => {
        // gpu.js submits webgpu dispatches without waiting; sync must ask the device queue.
        const { device } = await loadGpuJs().WebGPUContext.acquire();
        const original = device.queue.onSubmittedWorkDone;
        let waits = 0;
        device.queue.onSubmittedWorkDone = function () { waits++; return original.call(this); };
        try {
          const x = backend.alloc('f32', 1 << 16);
          backend.random(x, 'normal', 3, 0, 0, 1);
          await backend.sync();
          expect(waits).toBe(1);
          backend.free(x);
        } finally {
          device.queue.onSubmittedWorkDone = original;
        }
      });
    }
  });
}
