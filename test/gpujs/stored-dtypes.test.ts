// gpu.js kernels hold only f32, so f16 is emulated (every kernel rounds its f16
// outputs to nearest even) and i32 is held as exact f32 integers. These tests
// pin both down against tensor/f16.ts and Int32Array semantics, and check that
// what cannot be held is refused rather than rounded silently.

import { describe, expect, it } from 'vitest';
import { createGpuJsBackend } from '../../src/backends/gpujs/index.js';
import { f16BitsToNumber, f64ToF16Bits, roundToF16 } from '../../src/tensor/f16.js';
import { openAllModes, values } from './helpers/gpujs-fixture.js';

const backends = await openAllModes();

/** f32 values around every f16 rounding hazard: ties (even and odd), subnormals, the overflow edge, specials. */
function hazardValues(): Float32Array {
  const out: number[] = [0, -0, Infinity, -Infinity, NaN, 65504, 65519.99, 65520, 1e6, -65520, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -26, 1e-30];
  for (let bits = 0x0001; bits < 0x7c00; bits += 97) {
    const v = f16BitsToNumber(bits);
    const next = f16BitsToNumber(bits + 1);
    out.push(v, -v, (v + next) / 2, -(v + next) / 2, v + (next - v) / 4, v + 3 * (next - v) / 4);
  }
  return Float32Array.from(out);
}

for (const backend of backends) {
  describe(`stored dtypes on gpujs ${backend.mode}`, () => {
    it('casts f32 to f16 exactly as round-to-nearest-even (ties, subnormals, overflow, inf, NaN)', async () => {
      const input = hazardValues();
      const x = backend.alloc('f32', input.length);
      const h = backend.alloc('f16', input.length);
      backend.write(x, input);
      backend.cast([input.length], { buffer: x, offset: 0, strides: [1] }, h);
      const bits = await backend.read(h);
      let mismatches = 0;
      input.forEach((v, i) => {
        const want = f64ToF16Bits(v);
        const same = Number.isNaN(v) ? (bits[i] & 0x7c00) === 0x7c00 && (bits[i] & 0x3ff) !== 0 : bits[i] === want;
        if (!same && mismatches++ < 5) console.log(`f16 of ${v}: got 0x${bits[i].toString(16)}, expected 0x${want.toString(16)}`);
      });
      expect(mismatches).toBe(0);
      backend.free(x);
      backend.free(h);
    });

    it('every f16 kernel output is an exact f16 value in storage', async () => {
      const n = 8 * 24;
      const a = backend.alloc('f16', n);
      const w = backend.alloc('f16', 24);
      const outs = ['exp', 'softmax', 'rmsNorm', 'matmul'].map(() => backend.alloc('f16', n));
      const rstd = backend.alloc('f32', 8);
      backend.random(a, 'normal', 7, 0, 0, 1);
      backend.random(w, 'uniform', 8, 0, 0.5, 1.5);
      backend.unary('exp', [n], { buffer: a, offset: 0, strides: [1] }, outs[0], 0);
      backend.softmax(a, 8, 24, false, outs[1]);
      backend.rmsNorm(a, w, 8, 24, 1e-5, outs[2], rstd);
      backend.matmul({ batch: 1, m: 8, n: 8, k: 24 }, { buffer: a, offset: 0, batchStride: 0, transposed: false }, { buffer: a, offset: 0, batchStride: 0, transposed: true }, outs[3]);
      for (const out of [a, w, ...outs]) {
        // Widening copies the stored f32 values out unchanged: each must already be an f16.
        const wide = backend.alloc('f32', out.numel);
        backend.cast([out.numel], { buffer: out, offset: 0, strides: [1] }, wide);
        const stored = await values(backend, wide);
        expect(stored.filter((v) => roundToF16(v) !== v)).toEqual([]);
        backend.free(wide);
      }
      for (const b of [a, w, rstd, ...outs]) backend.free(b);
    });

    it('holds i32 as exact f32 integers and refuses values f32 cannot hold', async () => {
      const x = backend.alloc('i32', 6);
      const fine = Int32Array.from([0, -1, 2 ** 24, -(2 ** 24), 2 ** 30, -100]);
      backend.write(x, fine);
      expect(Array.from(await backend.read(x))).toEqual(Array.from(fine));
      expect(() => backend.write(x, Int32Array.from([2 ** 24 + 1]))).toThrow(/i32 value 16777217 .*cannot be stored exactly/);
      expect(() => backend.fill(x, 123456789)).toThrow(/fill: i32 value 123456789/);
      backend.free(x);
    });

    it('casts to i32 by truncation toward zero and reads back with Int32Array semantics', async () => {
      const input = Float32Array.from([2.9, -2.9, 0.5, -0.5, 1e6 + 0.5, NaN, Infinity, 3e9]);
      const x = backend.alloc('f32', input.length);
      const y = backend.alloc('i32', input.length);
      backend.write(x, input);
      backend.cast([input.length], { buffer: x, offset: 0, strides: [1] }, y);
      expect(Array.from(await backend.read(y))).toEqual(Array.from(Int32Array.from(input, (v) => Math.trunc(v))));
      backend.free(x);
      backend.free(y);
    });

    it('refuses f64 naming why', () => {
      expect(() => backend.alloc('f64', 4)).toThrow(/f64 is CPU-only/);
    });
  });
}

describe('f16 declared absent', () => {
  it('is not offered, and an f16 allocation says so', async () => {
    const backend = await createGpuJsBackend({ mode: 'cpu', f16: false });
    try {
      expect(backend.capabilities.f16).toBe('absent');
      expect(backend.capabilities.dtypes).toEqual(['f32', 'i32']);
      expect(() => backend.alloc('f16', 4)).toThrow(/declares f16 absent/);
    } finally {
      backend.destroy();
    }
  });
});
