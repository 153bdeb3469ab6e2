// Every kernel of the spec table gives the same bits on one thread and on two
// threads splitting it however small: work is divided so that each output
// element is computed by one thread in a fixed order, and SIMD bodies and
// scalar tails never move with the split. Cases come from the spec table's
// generators (odd sizes, strided and broadcast layouts), f32 and f16.

import { describe, expect, it } from 'vitest';
import type { BackendBuffer, KernelSet } from '../../src/backends/backend.js';
import { caseValues, roundValue, toHostArray } from '../../src/backends/case-values.js';
import { withCompositeDefaults } from '../../src/backends/composite.js';
import { sampleCases } from '../../src/backends/conformance.js';
import type { KernelCase, KernelSpec } from '../../src/backends/kernel-spec.js';
import { KERNEL_SPECS } from '../../src/backends/kernel-specs.js';
import type { DType } from '../../src/tensor/dtype.js';
import { openWasm } from './wasm-fixture.js';

const oneBackend = await openWasm(1);
const twoBackend = await openWasm(2, true);
const one = withCompositeDefaults(oneBackend, oneBackend);
const two = withCompositeDefaults(twoBackend, twoBackend);

/** Runs one case and returns the raw bytes of every output buffer. */
async function outputs(kernels: KernelSet, spec: KernelSpec, dtype: DType, kcase: KernelCase<unknown>): Promise<Buffer[]> {
  const specs = spec.buffers(kcase.dims, dtype);
  const values = specs.map((b, i) => (b.role === 'out' ? new Float64Array(0) : caseValues(kcase.valueSeed, i, b)));
  if (spec.adjustInputs) {
    spec.adjustInputs(kcase.dims, values);
    specs.forEach((b, i) => { if (b.role !== 'out') values[i] = values[i].map((v) => roundValue(b.dtype, v)); });
  }
  const buffers: BackendBuffer[] = specs.map((b, i) => {
    const buffer = kernels.alloc(b.dtype, b.numel);
    if (b.role === 'out') { if (b.numel > 0) kernels.fill(buffer, 0); } else if (b.numel > 0) kernels.write(buffer, toHostArray(b.dtype, values[i]));
    return buffer;
  });
  try {
    spec.invoke(kernels, kcase.dims, buffers);
    const result: Buffer[] = [];
    for (const [i, b] of specs.entries()) {
      if (b.role === 'in' || b.numel === 0) continue;
      const host = await kernels.read(buffers[i]);
      result.push(Buffer.from(host.buffer, host.byteOffset, host.byteLength));
    }
    return result;
  } finally {
    for (const b of buffers) kernels.free(b);
  }
}

describe('wasm: 1 and 2 threads give identical bits on every kernel', () => {
  for (const spec of KERNEL_SPECS) {
    for (const dtype of spec.dtypes.filter((d) => oneBackend.capabilities.dtypes.includes(d))) {
      it(`${spec.name} [${dtype}]`, async () => {
        const cases = sampleCases(spec, dtype, 40, 2024).filter((c) => spec.buffers(c.dims, dtype).every((b) => oneBackend.capabilities.dtypes.includes(b.dtype)));
        expect(cases.length).toBeGreaterThan(0);
        for (const kcase of cases) {
          const a = await outputs(one, spec, dtype, kcase);
          const b = await outputs(two, spec, dtype, kcase);
          a.forEach((bytes, j) => expect(b[j].equals(bytes), `output ${j}, dims ${JSON.stringify(kcase.dims)}`).toBe(true));
        }
      });
    }
  }
});
