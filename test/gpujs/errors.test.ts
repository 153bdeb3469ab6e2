// Misuse is refused at the call, with a message that names the op, the
// shapes or layout, and the dtypes involved, before any kernel runs.

import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { createGpuJsBackend } from '../../src/backends/gpujs/index.js';

const backend = await createGpuJsBackend({ mode: 'cpu' });

describe('gpujs backend errors', () => {
  const x = backend.alloc('f32', 6);
  const h = backend.alloc('f16', 6);
  const labels = backend.alloc('i32', 2);

  it('names the op and the dtypes on a dtype mismatch', () => {
    expect(() => backend.unary('exp', [6], { buffer: h, offset: 0, strides: [1] }, x, 0)).toThrow('gpujs backend: exp input is f16, expected f32');
    expect(() => backend.binary('add', [6], { buffer: x, offset: 0, strides: [1] }, { buffer: labels, offset: 0, strides: [0] }, x))
      .toThrow('gpujs backend: add b is i32, expected f32');
    expect(() => backend.reduce('sum', [2], { buffer: labels, offset: 0, strides: [1] }, 0, labels)).toThrow(/reduce-sum: i32 buffers are for indices and labels/);
  });

  it('names the op, layout and shape when a layout leaves its buffer', () => {
    expect(() => backend.unary('exp', [2, 3], { buffer: x, offset: 1, strides: [3, 1] }, x, 0))
      .toThrow('exp: input layout (offset 1, strides [3,1]) over shape [2,3] reaches elements 1..6 of a f32 buffer of 6');
    expect(() => backend.unary('exp', [2, 3], { buffer: x, offset: 0, strides: [3] }, x, 0)).toThrow('exp: input has 1 strides for a shape of rank 2 ([2,3])');
    expect(() => backend.matmul({ batch: 2, m: 2, n: 2, k: 2 }, { buffer: x, offset: 0, batchStride: 4, transposed: false }, { buffer: x, offset: 0, batchStride: 0, transposed: false }, x))
      .toThrow('matmul (batch 2, m 2, n 2, k 2): operand a (offset 0, batch stride 4) overruns its buffer of 6 elements');
  });

  it('refuses a destination layout that overlaps itself', () => {
    expect(() => backend.copy([2, 3], { buffer: x, offset: 0, strides: [3, 1] }, x, { offset: 0, strides: [1, 1] }))
      .toThrow(/copy: destination layout \(offset 0, strides \[1,1\]\) over shape \[2,3\] overlaps or interleaves/);
  });

  it('refuses foreign and freed buffers', () => {
    const cpu = new CpuBackend();
    const foreign = cpu.alloc('f32', 6);
    expect(() => backend.fill(foreign, 0)).toThrow('gpujs backend (cpu): fill target is not a buffer of this backend');
    const gone = backend.alloc('f32', 3);
    backend.free(gone);
    expect(() => backend.fill(gone, 0)).toThrow('gpujs backend (cpu): fill target was freed');
  });

  it('names sizes on overruns and oversized allocations', () => {
    expect(() => backend.write(x, new Float32Array(4), 3)).toThrow('gpujs backend: write of 4 elements at 3 overruns a f32 buffer of 6');
    expect(() => backend.alloc('f32', 2 ** 30 + 1)).toThrow(/alloc of 1073741825 f32 elements exceeds 1073741824 \(2\^30\)/);
    expect(() => backend.crossEntropy(x, labels, 3, 2, -100, x, x)).toThrow('crossEntropy: labels buffer of 2 i32 elements is smaller than the 3 it needs');
  });

  it('is unusable after destroy, saying so', async () => {
    const doomed = await createGpuJsBackend({ mode: 'cpu' });
    doomed.destroy();
    expect(() => doomed.alloc('f32', 1)).toThrow('gpujs backend (cpu): used after destroy()');
  });
});
