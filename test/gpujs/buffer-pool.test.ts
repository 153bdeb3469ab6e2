// Buffers come from a size-class pool: freed blocks are reused by later
// allocations of the same class, so a repeated training step allocates
// nothing new, and memoryStats reports reserved (held) apart from allocated
// (handed out) bytes.

import { describe, expect, it } from 'vitest';
import { BufferPool, sizeClassBytes } from '../../src/backends/gpujs/buffer-pool.js';
import { openAllModes } from './helpers/gpujs-fixture.js';

describe('size classes', () => {
  it('are powers of two up to 1 MiB, then sixteenths of the octave, never below 256 bytes', () => {
    expect(sizeClassBytes(0)).toBe(256);
    expect(sizeClassBytes(4)).toBe(256);
    expect(sizeClassBytes(257)).toBe(512);
    expect(sizeClassBytes(1 << 20)).toBe(1 << 20);
    expect(sizeClassBytes((1 << 20) + 1)).toBe((1 << 20) + (1 << 17)); // 2 MiB octave in 128 KiB steps
    for (const bytes of [3000, 70_000, 5_000_000, 123_456_789]) {
      const size = sizeClassBytes(bytes);
      expect(size).toBeGreaterThanOrEqual(bytes);
      if (bytes > 1 << 20) expect(size / bytes).toBeLessThanOrEqual(1.125);
    }
  });
});

describe('BufferPool', () => {
  it('reuses a freed block of the same class and accounts reserved vs allocated bytes', () => {
    let created = 0;
    let destroyed = 0;
    const pool = new BufferPool({ create: (bytes: number) => ({ bytes, id: created++ }), destroy: () => { destroyed++; } });
    const a = pool.acquire(1000); // 1024-byte class
    const b = pool.acquire(600);
    expect(pool.stats()).toMatchObject({ reservedBytes: 2048, allocatedBytes: 2048, creations: 2, reuses: 0, liveBlocks: 2 });
    pool.release(a);
    expect(pool.stats()).toMatchObject({ reservedBytes: 2048, allocatedBytes: 1024, freeBlocks: 1 });
    const c = pool.acquire(900);
    expect(c).toBe(a);
    expect(pool.stats()).toMatchObject({ creations: 2, reuses: 1, allocatedBytes: 2048 });
    pool.release(b);
    pool.release(c);
    pool.trim();
    expect(destroyed).toBe(2);
    expect(pool.stats()).toMatchObject({ reservedBytes: 0, allocatedBytes: 0, freeBlocks: 0 });
  });
});

const backends = await openAllModes();

for (const backend of backends) {
  describe(`pool on gpujs ${backend.mode}`, () => {
    /** A step that allocates and frees temporaries of several sizes, including in-place kernels. */
    const step = async () => {
      const sizes = [7, 300, 4096, 5000];
      const xs = sizes.map((n) => backend.alloc('f32', n));
      const ys = sizes.map((n) => backend.alloc('f16', n));
      xs.forEach((x, i) => {
        backend.random(x, 'normal', i, 0, 0, 1);
        backend.cast([sizes[i]], { buffer: x, offset: 0, strides: [1] }, ys[i]);
        backend.accumulate(x, x, sizes[i]); // in place: a pooled temporary on webgpu
      });
      await backend.sync();
      [...xs, ...ys].forEach((b) => backend.free(b));
    };

    it('a repeated step creates no new blocks and holds the same reserved bytes', async () => {
      await step();
      const warm = backend.stats().pool;
      const warmMemory = backend.memoryStats();
      await step();
      await step();
      const again = backend.stats().pool;
      expect(again.creations).toBe(warm.creations);
      expect(again.reuses).toBeGreaterThan(warm.reuses);
      expect(backend.memoryStats()).toEqual(warmMemory);
      expect(warmMemory.reservedBytes).toBeGreaterThanOrEqual(warmMemory.allocatedBytes);
    });

    it('allocated bytes follow live buffers; trimPool gives free blocks back', async () => {
      const base = backend.memoryStats();
      const x = backend.alloc('f32', 10_000); // 40000 bytes -> the 65536-byte class
      expect(backend.memoryStats().allocatedBytes - base.allocatedBytes).toBe(65536);
      backend.free(x);
      expect(backend.memoryStats().allocatedBytes).toBe(base.allocatedBytes);
      backend.trimPool();
      expect(backend.stats().pool.freeBlocks).toBe(0);
      expect(backend.memoryStats().reservedBytes).toBe(backend.memoryStats().allocatedBytes);
    });
  });
}
