// Shapes past WebGPU's 2-D dispatch limit (524280 = 65535 workgroups of 8 per
// axis) run on the flat fallback kernels (one dimension, exact i32 division)
// instead of the 2-D/3-D grids the conformance cases use, and buffers past
// 2^24 elements on the "wide" kernels that keep every index in i32 (f32 locals
// would round them); results must not change. Expected values come from the host.

import { describe, expect, it } from 'vitest';
import { openAllModes } from './helpers/gpujs-fixture.js';

const backends = await openAllModes();
const WIDE = 600_001; // > 524280, and odd

for (const backend of backends) {
  describe(`shapes beyond the grid limits on gpujs ${backend.mode}`, () => {
    it('a broadcast add over (2, 600001) matches the host', async () => {
      const a = backend.alloc('f32', 2 * WIDE);
      const b = backend.alloc('f32', 2);
      const out = backend.alloc('f32', 2 * WIDE);
      const av = Float32Array.from({ length: 2 * WIDE }, (_, i) => (i % 1000) - 500);
      backend.write(a, av);
      backend.write(b, Float32Array.from([0.5, -0.25]));
      // b broadcast along the wide last axis: strides [1, 0] keep the shape from collapsing to rank 1.
      backend.binary('add', [2, WIDE], { buffer: a, offset: 0, strides: [WIDE, 1] }, { buffer: b, offset: 0, strides: [1, 0] }, out);
      const got = await backend.read(out);
      expect(backend.compiledKernelKeys()).toContain('binary.add|f32|r2f');
      const wrong = [0, WIDE - 1, WIDE, 2 * WIDE - 1, 123_457, WIDE + 524_281].filter((i) => got[i] !== av[i] + (i < WIDE ? 0.5 : -0.25));
      expect(wrong).toEqual([]);
      for (let i = 0; i < 2 * WIDE; i += 997) expect(got[i]).toBe(av[i] + (i < WIDE ? 0.5 : -0.25));
      for (const x of [a, b, out]) backend.free(x);
    });

    it('a matmul with 600001 output columns and a reduction keeping a (2, 600001) grid match the host', async () => {
      const a = backend.alloc('f32', 2);
      const b = backend.alloc('f32', 4 * WIDE);
      const out = backend.alloc('f32', WIDE);
      const sums = backend.alloc('f32', 2 * WIDE);
      const bv = Float32Array.from({ length: 4 * WIDE }, (_, i) => (i % 7) - 3);
      backend.write(a, Float32Array.from([2, -1]));
      backend.write(b, bv);
      // (1, 2) @ (2, WIDE): one row of WIDE columns, past the grid limit.
      backend.matmul({ batch: 1, m: 1, n: WIDE, k: 2 }, { buffer: a, offset: 0, batchStride: 0, transposed: false }, { buffer: b, offset: 0, batchStride: 0, transposed: false }, out);
      // b viewed as (2, 2, WIDE) with strides [2 * WIDE, 1, 2], summed over axis 0: the kept (2, WIDE)
      // axes do not collapse, so the kept space is rank 2 with a too-wide x.
      backend.reduce('sum', [2, 2, WIDE], { buffer: b, offset: 0, strides: [2 * WIDE, 1, 2] }, 0, sums);
      const [product, summed] = [await backend.read(out), await backend.read(sums)];
      expect(backend.compiledKernelKeys()).toEqual(expect.arrayContaining(['matmul|f32|flat|narrow', 'reduce.sum|f32|narrow|r2f']));
      for (let j = 0; j < WIDE; j += 991) expect(product[j]).toBe(2 * bv[j] - bv[WIDE + j]);
      expect(product[WIDE - 1]).toBe(2 * bv[WIDE - 1] - bv[2 * WIDE - 1]);
      // sums[i, j] = b[i + 2 j] + b[2 WIDE + i + 2 j]
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < WIDE; j += 997) expect(summed[i * WIDE + j]).toBe(bv[i + 2 * j] + bv[2 * WIDE + i + 2 * j]);
        expect(summed[i * WIDE + WIDE - 1]).toBe(bv[i + 2 * (WIDE - 1)] + bv[2 * WIDE + i + 2 * (WIDE - 1)]);
      }
      for (const x of [a, b, out, sums]) backend.free(x);
    });

    it('indices past 2^24 address exactly the right elements (wide matmul and reduce)', async () => {
      const big = 2 ** 24 + 64;
      const x = backend.alloc('f32', big);
      // Each element holds its own index modulo 4093, so a rounded index reads a different value.
      backend.write(x, Float32Array.from({ length: big }, (_, i) => i % 4093));
      const start = 2 ** 24 + 1; // odd: not an f32-representable neighbourhood
      const product = backend.alloc('f32', 4);
      const maxima = backend.alloc('f32', 2);
      // (2, 3) @ (3, 2), both read from the tail of x.
      backend.matmul({ batch: 1, m: 2, n: 2, k: 3 }, { buffer: x, offset: start, batchStride: 0, transposed: false }, { buffer: x, offset: start + 7, batchStride: 0, transposed: false }, product);
      backend.reduce('max', [2, 5], { buffer: x, offset: start + 20, strides: [9, 1] }, 1, maxima);
      const v = (i: number) => i % 4093;
      const expected: number[] = [];
      for (let r = 0; r < 2; r++) for (let c = 0; c < 2; c++) {
        let acc = 0;
        for (let p = 0; p < 3; p++) acc += v(start + r * 3 + p) * v(start + 7 + p * 2 + c);
        expected.push(acc);
      }
      expect(Array.from(await backend.read(product))).toEqual(expected);
      expect(Array.from(await backend.read(maxima))).toEqual([0, 1].map((r) => Math.max(...[0, 1, 2, 3, 4].map((c) => v(start + 20 + r * 9 + c)))));
      expect(backend.compiledKernelKeys()).toEqual(expect.arrayContaining(['matmul|f32|grid', 'reduce.max|f32|wide|r1f']));
      backend.free(x);
      backend.free(product);
      backend.free(maxima);
    });
  });
}
