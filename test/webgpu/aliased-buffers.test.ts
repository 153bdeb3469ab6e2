// WebGPU refuses a buffer bound as writable and as anything else in one
// dispatch. Kernels must still accept an input that is also the output
// (x += x, y = x * x, an overlapping copy): the backend snapshots the input.
// Results must equal reading every input before any output is written.

import { describe, expect, it } from 'vitest';
import { expectSameAsCpu, normals } from './helpers/cpu-oracle.js';
import { openWebGpu } from './helpers/webgpu-fixture.js';

const backend = await openWebGpu('aliased buffers', { adapter: 'auto' });
const EXACT = { rtol: 0, atol: 0 };

if (backend) {
  describe('an input that is also the output', () => {
    it('accumulate(dst, dst) doubles dst', async () => {
      await expectSameAsCpu(backend, [{ dtype: 'f32', values: normals(37, 1) }], (k, [x]) => k.accumulate(x, x, 37), [0], EXACT, 'x += x');
    });

    it('binary with both operands and the output on one buffer', async () => {
      await expectSameAsCpu(backend, [{ dtype: 'f16', values: normals(9, 2, 'f16') }],
        (k, [x]) => k.binary('mul', [9], { buffer: x, offset: 0, strides: [1] }, { buffer: x, offset: 0, strides: [1] }, x), [0], { rtol: 1e-3, atol: 0 }, 'x = x * x');
    });

    it('an overlapping copy within one buffer reads the source as it was before the copy (memmove)', async () => {
      // The CPU reference is a forward loop, which would smear x[0..5) along; the GPU snapshots the source.
      const values = normals(20, 3);
      const x = backend.alloc('f32', 20);
      try {
        backend.write(x, new Float32Array(values));
        backend.copy([10], { buffer: x, offset: 0, strides: [1] }, x, { offset: 5, strides: [1] });
        const expected = [...values.slice(0, 5), ...values.slice(0, 10), ...values.slice(15)];
        expect([...(await backend.read(x))]).toEqual(expected);
      } finally {
        backend.free(x);
      }
    });

    it('two written bindings on one buffer are refused with both names', () => {
      const a = backend.alloc('f32', 4);
      const b = backend.alloc('f32', 4);
      try {
        expect(() => backend.siluMulBackward(a, b, b, 4, a, a)).toThrow(/'ga' and 'gb' are the same buffer/);
      } finally {
        backend.free(a);
        backend.free(b);
      }
    });
  });
}
