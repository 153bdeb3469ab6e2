// The size-class buffer pool: what reservedBytes and allocatedBytes report,
// when freed buffers are reused, and that cached memory can be released.

import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { MIN_CLASS_BYTES, sizeClassBytes } from '../../src/backends/webgpu/buffer-pool.js';
import { openWebGpu } from './helpers/webgpu-fixture.js';

describe('size classes', () => {
  it('round up to a quarter of the power of two below, with a 256-byte floor', () => {
    expect(sizeClassBytes(0)).toBe(MIN_CLASS_BYTES);
    expect(sizeClassBytes(1)).toBe(256);
    expect(sizeClassBytes(256)).toBe(256);
    expect(sizeClassBytes(257)).toBe(512); // power 256, step max(256, 64) = 256
    expect(sizeClassBytes(1000)).toBe(1024);
    expect(sizeClassBytes(1025)).toBe(1280); // power 1024, step 256
    expect(sizeClassBytes(5000)).toBe(5120); // power 4096, step 1024
    expect(sizeClassBytes(1 << 20)).toBe(1 << 20);
    expect(sizeClassBytes((1 << 20) + 1)).toBe((1 << 20) + (1 << 18));
  });

  it('waste under 256 bytes below 1 KiB and at most a quarter of the request above', () => {
    for (let bytes = 1; bytes < 1 << 22; bytes = Math.floor(bytes * 1.37) + 1) {
      const c = sizeClassBytes(bytes);
      expect(c).toBeGreaterThanOrEqual(bytes);
      if (bytes < 1024) expect(c - bytes).toBeLessThan(256);
      else expect(c / bytes).toBeLessThanOrEqual(1.25);
    }
  });
});

const backend = await openWebGpu('buffer pool', { adapter: 'auto' });

if (backend) {
  describe('buffer pool on the device', () => {
    it('reports allocated bytes per live buffer class and keeps freed buffers reserved', () => {
      backend.releaseCachedMemory();
      const base = backend.memoryStats();
      expect(base.allocatedBytes).toBe(0);
      expect(base.reservedBytes).toBe(0);
      const a = backend.alloc('f32', 250); // 1000 bytes -> class 1024
      const b = backend.alloc('f16', 3); // 6 bytes -> class 256
      expect(backend.memoryStats()).toEqual({ allocatedBytes: 1024 + 256, reservedBytes: 1024 + 256 });
      backend.free(a);
      expect(backend.memoryStats()).toEqual({ allocatedBytes: 256, reservedBytes: 1024 + 256 });
      backend.free(b);
      expect(backend.memoryStats()).toEqual({ allocatedBytes: 0, reservedBytes: 1024 + 256 });
      backend.releaseCachedMemory();
      expect(backend.memoryStats()).toEqual({ allocatedBytes: 0, reservedBytes: 0 });
    });

    it('serves a request of the same class from the free list instead of the device', () => {
      const before = backend.poolStats();
      const a = backend.alloc('f32', 250);
      backend.free(a);
      const b = backend.alloc('i32', 240); // 960 bytes: the same 1024-byte class
      const c = backend.alloc('f32', 512); // 2048 bytes: another class, so a new buffer
      const after = backend.poolStats();
      expect(after.reused - before.reused).toBe(before.freeBuffers > 0 ? 2 : 1);
      expect(after.created - before.created + (after.reused - before.reused)).toBe(3);
      expect((b as unknown as { gpu: GPUBuffer }).gpu).toBe((a as unknown as { gpu: GPUBuffer }).gpu);
      backend.free(b);
      backend.free(c);
    });

    it('a recycled buffer still carries correct results when earlier work on it has not run yet', async () => {
      // x is freed while its neg is still only recorded; y reuses x's memory right away.
      const x = backend.alloc('f32', 4);
      backend.write(x, new Float32Array([1, 2, 3, 4]));
      const negX = backend.alloc('f32', 4);
      backend.unary('neg', [4], { buffer: x, offset: 0, strides: [1] }, negX, 0);
      backend.free(x);
      const y = backend.alloc('f32', 4);
      expect((y as unknown as { gpu: GPUBuffer }).gpu).toBe((x as unknown as { gpu: GPUBuffer }).gpu);
      backend.write(y, new Float32Array([10, 20, 30, 40]));
      expect([...(await backend.read(negX))]).toEqual([-1, -2, -3, -4]);
      expect([...(await backend.read(y))]).toEqual([10, 20, 30, 40]);
      backend.free(y);
      backend.free(negX);
    });

    it('refuses double frees, freed buffers, buffers of another backend and f64, naming the op', async () => {
      const a = backend.alloc('f32', 4);
      backend.free(a);
      expect(() => backend.free(a)).toThrow(/webgpu free: .*already freed/);
      await expect(backend.read(a)).rejects.toThrow(/webgpu read: .*already freed/);
      const cpuBuffer = new CpuBackend().alloc('f32', 4);
      expect(() => backend.fill(cpuBuffer, 1)).toThrow(/webgpu fill: .*not a buffer of this WebGPU backend/);
      expect(() => backend.alloc('f64', 4)).toThrow(/f64 is not supported/);
    });

    it('refuses a buffer larger than the adapter can bind, naming the limit', () => {
      const tooMany = Math.floor(backend.capabilities.maxBufferBytes / 4) + 1;
      expect(() => backend.alloc('f32', tooMany)).toThrow(/maxStorageBufferBindingSize/);
    });
  });
}
