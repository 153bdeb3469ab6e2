// A lost device must be reported, not hung on: reads pending at the moment
// of loss reject with a message saying so, and every later call throws it.
// Dawn loses the device when GPUDevice.destroy() is called, which is how the
// test triggers it.

import { describe, expect, it } from 'vitest';
import { createWebGpuBackend } from '../../src/backends/webgpu/index.js';
import { openWebGpu } from './helpers/webgpu-fixture.js';

const probe = await openWebGpu('device loss', { adapter: 'auto' });

/** Rejects if `p` has not settled within `ms` (so a hang fails the test instead of timing it out silently). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms))]);
}

if (probe) {
  const kind = probe.adapter.kind;
  describe(`device loss (${kind})`, () => {
    it('rejects a read that is pending when the device is lost, then refuses further work', async () => {
      const backend = await createWebGpuBackend({ adapter: kind });
      const x = backend.alloc('f32', 1 << 16);
      backend.fill(x, 1);
      backend.unary('exp', [1 << 16], { buffer: x, offset: 0, strides: [1] }, x, 0);
      const pending = backend.read(x);
      backend.device.destroy();
      await expect(within(pending, 10_000, 'the pending read')).rejects.toThrow(/the GPU device was lost \(destroyed/);
      expect(() => backend.alloc('f32', 4)).toThrow(/device was lost/);
      await expect(within(backend.sync(), 10_000, 'sync')).rejects.toThrow(/device was lost/);
    });

    it('after destroy() every call says the backend was destroyed', async () => {
      const backend = await createWebGpuBackend({ adapter: kind });
      const x = backend.alloc('f32', 4);
      backend.destroy();
      expect(() => backend.fill(x, 1)).toThrow(/used after destroy\(\)/);
      await expect(backend.read(x)).rejects.toThrow(/used after destroy\(\)/);
    });
  });
}
