// Runs one hand-picked case of a kernel-spec row (dims chosen by the test,
// values from the seed) against the spec's f64 reference and tolerance.

import { expect } from 'vitest';
import type { KernelSet } from '../../../src/backends/backend.js';
import { runKernelCase } from '../../../src/backends/conformance.js';
import { kernelSpec } from '../../../src/backends/kernel-specs.js';
import type { DType } from '../../../src/tensor/dtype.js';

export async function expectSpecCase(kernels: KernelSet, kernel: string, dtype: DType, dims: unknown, valueSeed = 1): Promise<void> {
  const outcome = await runKernelCase(kernels, kernelSpec(kernel), dtype, { dims, valueSeed });
  expect(outcome.ok, outcome.message).toBe(true);
}
