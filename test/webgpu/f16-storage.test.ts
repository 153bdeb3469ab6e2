// f16 storage in both forms. Packed f16 converts with integer code of our
// own, so it must round exactly like the CPU (nearest even, subnormals,
// overflow to infinity, NaN kept); native shader-f16 conversion is the
// driver's, which WGSL allows to pick either neighbour. Both must read and
// write halves at odd offsets without touching their neighbours.

import { describe, expect, it } from 'vitest';
import { f16BitsToNumber, f64ToF16Bits } from '../../src/tensor/f16.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/index.js';
import { openWebGpu } from './helpers/webgpu-fixture.js';

const backends = [
  await openWebGpu('f16 storage (vulkan native)', { adapter: 'vulkan', f16: 'native' }),
  await openWebGpu('f16 storage (vulkan packed)', { adapter: 'vulkan', f16: 'packed' }),
  await openWebGpu('f16 storage (gles packed)', { adapter: 'gles' }),
].filter((b): b is WebGpuBackend => b !== null);

const SPECIAL_F32 = [
  0, -0, 1, -1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -20, 65504, 65519.99, 65520, -65520, 1e30, -1e30,
  2 ** -14, 2 ** -14 - 2 ** -25, 2 ** -24, 2 ** -25, 1.5 * 2 ** -25, 2 ** -26, 3 * 2 ** -25, 1e-8, -1e-8,
  Math.PI, -Math.E, 1234.5678, Infinity, -Infinity, NaN,
].map(Math.fround);

async function castF32ToF16(backend: WebGpuBackend, values: number[]): Promise<Uint16Array> {
  const x = backend.alloc('f32', values.length);
  const h = backend.alloc('f16', values.length);
  try {
    backend.write(x, new Float32Array(values));
    backend.cast([values.length], { buffer: x, offset: 0, strides: [1] }, h);
    return (await backend.read(h)) as Uint16Array;
  } finally {
    backend.free(x);
    backend.free(h);
  }
}

for (const backend of backends) {
  describe(`f16 storage: ${backend.name} (${backend.f16Mode})`, () => {
    it('f32 -> f16 rounds like the CPU reference', async () => {
      const got = await castF32ToF16(backend, SPECIAL_F32);
      SPECIAL_F32.forEach((v, i) => {
        const want = f64ToF16Bits(v);
        if (backend.f16Mode === 'packed') {
          expect(got[i].toString(16), `f16 bits of ${v}`).toBe(want.toString(16));
        } else if (Number.isNaN(v)) {
          expect(Number.isNaN(f16BitsToNumber(got[i])), `f16 of NaN`).toBe(true);
        } else if (Number.isFinite(f16BitsToNumber(want))) {
          // Native conversion: WGSL allows either neighbour of an inexact value (and says nothing
          // definite about values beyond the f16 range, which are therefore not checked here).
          const spacing = Math.abs(f16BitsToNumber(want ^ 1) - f16BitsToNumber(want)) || 2 ** -24;
          expect(Math.abs(f16BitsToNumber(got[i]) - f16BitsToNumber(want)), `f16 of ${v}`).toBeLessThanOrEqual(spacing);
        }
      });
    });

    it('f16 -> f32 is exact for every one of the 65536 bit patterns', async () => {
      const bits = new Uint16Array(65536).map((_, i) => i);
      const h = backend.alloc('f16', bits.length);
      const x = backend.alloc('f32', bits.length);
      try {
        backend.write(h, bits);
        backend.cast([bits.length], { buffer: h, offset: 0, strides: [1] }, x);
        const got = (await backend.read(x)) as Float32Array;
        for (let i = 0; i < bits.length; i++) {
          const want = f16BitsToNumber(i);
          if (Number.isNaN(want) ? !Number.isNaN(got[i]) : got[i] !== want) expect.fail(`bits 0x${i.toString(16)}: got ${got[i]}, want ${want}`);
        }
      } finally {
        backend.free(h);
        backend.free(x);
      }
    });

    it('writes and reads halves at odd offsets and lengths without touching neighbours', async () => {
      const buffer = backend.alloc('f16', 12);
      try {
        const initial = Uint16Array.from({ length: 12 }, (_, i) => f64ToF16Bits(100 + i));
        backend.write(buffer, initial);
        const patch = Uint16Array.from([1, 2, 3, 4, 5].map(f64ToF16Bits));
        backend.write(buffer, patch, 3); // elements 3..7: starts and ends mid-word
        const expected = Uint16Array.from(initial);
        expected.set(patch, 3);
        expect([...((await backend.read(buffer)) as Uint16Array)]).toEqual([...expected]);
        expect([...((await backend.read(buffer, 5, 3)) as Uint16Array)]).toEqual([...expected.subarray(5, 8)]);
        expect([...((await backend.read(buffer, 11, 1)) as Uint16Array)]).toEqual([expected[11]]);
        backend.write(buffer, Uint16Array.from([f64ToF16Bits(-7)]), 0); // one half at an even offset
        expect((await backend.read(buffer, 0, 2))[0]).toBe(f64ToF16Bits(-7));
        expect((await backend.read(buffer, 0, 2))[1]).toBe(expected[1]);
      } finally {
        backend.free(buffer);
      }
    });
  });
}
