// Strided elementwise kernels on layouts the generated cases rarely reach:
// empty and size-1 axes, large strides into a big buffer, broadcasting on
// every axis, ranks up to 8 that cannot be merged, negative strides, odd
// f16 offsets, and element counts that need a 2-D dispatch grid.

import { describe, expect, it } from 'vitest';
import type { StridedLayout } from '../../src/backends/backend.js';
import { expectSameAsCpu, normals } from './helpers/cpu-oracle.js';
import { expectSpecCase } from './helpers/spec-case.js';
import { kernelsOf, openWebGpu } from './helpers/webgpu-fixture.js';

const native = await openWebGpu('odd-shape elementwise (vulkan)', { adapter: 'vulkan' });
const packed = await openWebGpu('odd-shape elementwise (vulkan, packed f16)', { adapter: 'vulkan', f16: 'packed' });

const EXACT = { rtol: 0, atol: 0 };
const contiguous = (shape: number[]) => {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) { strides[i] = s; s *= shape[i]; }
  return { offset: 0, strides, bufferNumel: Math.max(1, s) };
};

for (const [label, backend] of [['native', native], ['packed f16', packed]] as const) {
  if (!backend) continue;
  const kernels = kernelsOf(backend);
  describe(`elementwise odd shapes (${label})`, () => {
    for (const dtype of ['f32', 'f16'] as const) {
      it(`${dtype}: empty and size-1 axes`, async () => {
        for (const shape of [[0], [3, 0, 2], [1], [1, 1, 1], [1, 7, 1], []]) {
          const layout = contiguous(shape);
          await expectSpecCase(kernels, 'binary.mul', dtype, { op: 'mul', shape, a: layout, b: layout });
          await expectSpecCase(kernels, 'copy', dtype, { shape, src: layout, dst: layout });
        }
      });

      it(`${dtype}: broadcasting on every axis (stride 0 for a, then for b, then for both)`, async () => {
        const shape = [3, 5, 7];
        const full = contiguous(shape);
        for (const axis of [0, 1, 2]) {
          const strides = [...full.strides];
          strides[axis] = 0;
          const bcast = { offset: 0, strides, bufferNumel: full.bufferNumel };
          await expectSpecCase(kernels, 'binary.sub', dtype, { op: 'sub', shape, a: bcast, b: full });
          await expectSpecCase(kernels, 'binary.sub', dtype, { op: 'sub', shape, a: full, b: bcast });
        }
        const scalar = { offset: 4, strides: [0, 0, 0], bufferNumel: 9 };
        await expectSpecCase(kernels, 'binary.add', dtype, { op: 'add', shape, a: scalar, b: scalar });
        await expectSpecCase(kernels, 'unary.exp', dtype, { op: 'exp', shape, x: scalar, scalar: 0 });
      });

      it(`${dtype}: large strides and offsets into a big buffer`, async () => {
        const src: StridedLayout & { bufferNumel: number } = { offset: 1001, strides: [40_000, 1_000, 3], bufferNumel: 200_000 };
        await expectSpecCase(kernels, 'unary.neg', dtype, { op: 'neg', shape: [4, 30, 17], x: src, scalar: 0 });
        await expectSpecCase(kernels, 'copy', dtype, { shape: [4, 30, 17], src, dst: { offset: 77, strides: [1, 4, 120], bufferNumel: 2_200 } });
      });

      it(`${dtype}: rank 8 with no mergeable axes, and a permuted rank-6 copy`, async () => {
        const shape = [2, 3, 2, 3, 2, 3, 2, 3];
        // Each axis steps past a gap, so no two neighbours merge.
        const strides: number[] = [];
        let s = 1;
        for (let i = shape.length - 1; i >= 0; i--) { strides[i] = s; s *= shape[i] + 1; }
        const gapped = { offset: 2, strides, bufferNumel: s + 2 };
        await expectSpecCase(kernels, 'binary.maximum', dtype, { op: 'maximum', shape, a: gapped, b: contiguous(shape) });
        // A (2, 3, 4, 1, 5, 2) view of a buffer stored with its axes in the order 5, 3, 0, 4, 2, 1.
        const shape6 = [2, 3, 4, 1, 5, 2];
        const storageOrder = [5, 3, 0, 4, 2, 1];
        const permutedStrides = new Array<number>(6);
        let size = 1;
        for (let j = 5; j >= 0; j--) { permutedStrides[storageOrder[j]] = size; size *= shape6[storageOrder[j]]; }
        const permuted = { offset: 0, strides: permutedStrides, bufferNumel: size };
        await expectSpecCase(kernels, 'copy', dtype, { shape: shape6, src: permuted, dst: contiguous(shape6) });
      });

      it(`${dtype}: negative strides (a reversed view) match the CPU reference`, async () => {
        await expectSameAsCpu(backend, [
          { dtype, values: normals(24, 5, dtype) },
          { dtype, values: 24 },
        ], (k, [x, out]) => k.unary('abs', [4, 6], { buffer: x, offset: 23, strides: [-6, -1] }, out, 0), [1], EXACT, 'reversed abs');
      });

      it(`${dtype}: copies to odd destination offsets leave the neighbouring elements alone`, async () => {
        // 13 elements into the middle of a 40-element destination at offset 3, with stride 1 and with stride 3.
        for (const dst of [{ offset: 3, strides: [1] }, { offset: 3, strides: [3] }]) {
          await expectSameAsCpu(backend, [
            { dtype, values: normals(13, 7, dtype) },
            { dtype, values: normals(40, 8, dtype) },
          ], (k, [src, d]) => k.copy([13], { buffer: src, offset: 0, strides: [1] }, d, dst), [1], EXACT, `copy to ${JSON.stringify(dst)}`);
        }
      });
    }

    it('f32 and i32: casts with negative, large and non-finite values follow the CPU (truncation, ToInt32 wrapping)', async () => {
      const values = [-2.7, 2.7, -0.5, 1e10, -3e9, 2147483647.5, NaN, Infinity, -Infinity, 65519, 65520];
      await expectSameAsCpu(backend, [{ dtype: 'f32', values }, { dtype: 'i32', values: values.length }],
        (k, [x, out]) => k.cast([values.length], { buffer: x, offset: 0, strides: [1] }, out), [1], EXACT, 'f32 -> i32');
      const ints = [0, -1, 7, 65504, 65505, 70000, -2147483648, 16777217];
      await expectSameAsCpu(backend, [{ dtype: 'i32', values: ints }, { dtype: 'f32', values: ints.length }, { dtype: 'f16', values: ints.length }],
        (k, [x, f, h]) => {
          k.cast([ints.length], { buffer: x, offset: 0, strides: [1] }, f);
          k.cast([ints.length], { buffer: x, offset: 0, strides: [1] }, h);
        }, [1, 2], EXACT, 'i32 -> f32, f16');
    });
  });
}

if (native) {
  it('a map over 17M elements needs a 2-D grid of workgroups (more than 65535 x 256 invocations)', async () => {
    const count = 65_535 * 256 + 1_000;
    const x = native.alloc('f32', count);
    const out = native.alloc('f32', count);
    try {
      native.fill(x, 1.5);
      native.unary('addScalar', [count], { buffer: x, offset: 0, strides: [1] }, out, 2);
      const result = (await native.read(out)) as Float32Array;
      const wrong = result.findIndex((v) => v !== 3.5);
      expect(wrong, `first wrong element ${wrong}: ${result[wrong]}`).toBe(-1);
    } finally {
      native.free(x);
      native.free(out);
    }
  });
}
