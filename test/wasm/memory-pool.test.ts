// Tensors live in the shared wasm memory, placed by a size-class pool: freed
// blocks are reused, reserved and allocated bytes are reported, the memory grows
// on demand with earlier contents intact, and misuse fails with a clear error.

import { describe, expect, it } from 'vitest';
import { blockBytesFor } from '../../src/backends/wasm/wasm-heap.js';
import { openWasm } from './wasm-fixture.js';

const backend = await openWasm(2);

describe('wasm memory pool', () => {
  it('rounds requests to 64 bytes, then to quarter steps of a power of two', () => {
    expect(blockBytesFor(0)).toBe(64);
    expect(blockBytesFor(64)).toBe(64);
    expect(blockBytesFor(65)).toBe(80); // 64 + 16
    expect(blockBytesFor(1000)).toBe(1024); // octave 512, quarter 128: ceil(1000/128)*128
    expect(blockBytesFor(1025)).toBe(1280);
    expect(blockBytesFor(3 * 2 ** 20)).toBe(3 * 2 ** 20);
  });

  it('reuses a freed block and reports reserved and allocated bytes', () => {
    const before = backend.memoryStats();
    const a = backend.alloc('f32', 1000); // 4000 bytes -> a 4096-byte block
    const afterAlloc = backend.memoryStats();
    expect(afterAlloc.allocatedBytes - before.allocatedBytes).toBe(4096);
    backend.free(a);
    expect(backend.memoryStats().allocatedBytes).toBe(before.allocatedBytes);
    const reserved = backend.memoryStats().reservedBytes;
    const b = backend.alloc('i32', 1020); // same size class
    expect((b as unknown as { ptr: number }).ptr).toBe((a as unknown as { ptr: number }).ptr);
    expect(backend.memoryStats().reservedBytes).toBe(reserved);
    backend.free(b);
  });

  it('grows the memory on demand and keeps what was there', async () => {
    const small = backend.alloc('f32', 4);
    backend.write(small, Float32Array.from([1, 2, 3, 4.5]));
    const big = backend.alloc('f32', 40 * 2 ** 20); // 160 MiB: past the initial 4 MiB
    backend.fill(big, 2);
    const tail = await backend.read(big, 40 * 2 ** 20 - 2, 2);
    expect(Array.from(tail)).toEqual([2, 2]);
    expect(Array.from(await backend.read(small))).toEqual([1, 2, 3, 4.5]);
    expect(backend.memoryStats().reservedBytes).toBeGreaterThanOrEqual(160 * 2 ** 20);
    backend.free(big);
    backend.free(small);
  });

  it('names what was wrong', () => {
    expect(() => backend.alloc('f64', 4)).toThrow(/f64.*f32, f16 and i32/);
    const table = backend.alloc('f32', 6);
    const idx = backend.alloc('i32', 2);
    const out = backend.alloc('f32', 6);
    backend.write(idx, Int32Array.from([1, 7]));
    expect(() => backend.gatherRows(table, 2, 3, idx, 2, out)).toThrow('embedding: index 7 at position 1 is out of range [0, 2)');
    backend.free(table);
    expect(() => backend.fill(table, 0)).toThrow(/fill target was freed/);
    expect(() => backend.write(idx, new Float32Array(2))).toThrow(/Float32Array into a i32 buffer/);
    backend.free(idx);
    backend.free(out);
  });
});
