// Reductions and row kernels at sizes the generated cases do not reach:
// rows longer than a workgroup (and not a multiple of it), the tree and the
// serial reduce paths, empty reduced axes, more rows than one grid
// dimension holds, and packed f16 rows that start in the middle of a word.

import { describe, it } from 'vitest';
import { expectSpecCase } from './helpers/spec-case.js';
import { kernelsOf, openWebGpu } from './helpers/webgpu-fixture.js';

const native = await openWebGpu('odd-shape rows (vulkan)', { adapter: 'vulkan' });
const packed = await openWebGpu('odd-shape rows (vulkan, packed f16)', { adapter: 'vulkan', f16: 'packed' });

const contiguous = (shape: number[]) => {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) { strides[i] = s; s *= shape[i]; }
  return { offset: 0, strides, bufferNumel: Math.max(1, s) };
};

for (const [label, backend, dtypes] of [['native', native, ['f32', 'f16']], ['packed', packed, ['f16']]] as const) {
  if (!backend) continue;
  const kernels = kernelsOf(backend);
  describe(`row kernels at odd sizes (${label})`, () => {
    for (const dtype of dtypes) {
      it(`${dtype}: reduce over a long contiguous axis (workgroup tree) and a long strided one (serial blocks)`, async () => {
        for (const op of ['sum', 'max'] as const) {
          await expectSpecCase(kernels, `reduce.${op}`, dtype, { op, shape: [3, 1000], x: contiguous([3, 1000]), axis: 1 });
          await expectSpecCase(kernels, `reduce.${op}`, dtype, { op, shape: [700, 5], x: contiguous([700, 5]), axis: 0 });
          await expectSpecCase(kernels, `reduce.${op}`, dtype, { op, shape: [2, 301, 3], x: contiguous([2, 301, 3]), axis: 1 });
        }
      });

      it(`${dtype}: reducing an empty axis gives the identity (0 for sum, -inf for max)`, async () => {
        for (const op of ['sum', 'max'] as const) {
          await expectSpecCase(kernels, `reduce.${op}`, dtype, { op, shape: [4, 0, 3], x: contiguous([4, 0, 3]), axis: 1 });
        }
      });

      it(`${dtype}: rows of 1025 and 3001 columns (past one workgroup, odd lengths so f16 rows straddle words)`, async () => {
        for (const cols of [1025, 3001]) {
          for (const kernel of ['softmax', 'logSoftmax', 'softmaxBackward', 'logSoftmaxBackward']) {
            await expectSpecCase(kernels, kernel, dtype, { rows: 3, cols });
          }
          await expectSpecCase(kernels, 'rmsNorm', dtype, { rows: 3, cols, eps: 1e-5 });
          await expectSpecCase(kernels, 'rmsNormBackward', dtype, { rows: 3, cols, eps: 1e-5 });
          await expectSpecCase(kernels, 'crossEntropy', dtype, { rows: 5, cols, ignoreIndex: -100 });
          await expectSpecCase(kernels, 'crossEntropyBackward', dtype, { rows: 5, cols, ignoreIndex: -100 });
        }
      });

      it(`${dtype}: RMSNorm backward with more rows than one weight-gradient chunk (64)`, async () => {
        await expectSpecCase(kernels, 'rmsNormBackward', dtype, { rows: 200, cols: 37, eps: 1e-6 });
      });

      it(`${dtype}: embedding gather/scatter with odd and even row lengths`, async () => {
        for (const cols of [1, 2, 7, 64]) {
          await expectSpecCase(kernels, 'gatherRows', dtype, { rows: 9, cols, n: 31 });
          await expectSpecCase(kernels, 'scatterAddRows', dtype, { rows: 9, cols, n: 31 });
        }
      });
    }
  });
}

if (native) {
  it('70000 rows need more workgroups than one grid dimension holds (65535)', async () => {
    const kernels = kernelsOf(native);
    await expectSpecCase(kernels, 'softmax', 'f32', { rows: 70_000, cols: 3 });
    await expectSpecCase(kernels, 'crossEntropy', 'f32', { rows: 70_000, cols: 2, ignoreIndex: -100 });
  }, 120_000);
}
