// The kernel-spec table on gpu.js's webasm mode, against the f64 reference.
// f64 rows are reported as not run (f64 is CPU-only); f16 runs emulated.

import { expect, it } from 'vitest';
import { conformanceSuite } from '../helpers/conformance-suite.js';
import { kernelsOf, openGpuJs } from './helpers/gpujs-fixture.js';

const backend = await openGpuJs('webasm');

if (backend) {
  it('runs on gpu.js webasm kernels with f32, emulated f16 and i32', () => {
    expect(backend.mode).toBe('webasm');
    expect(backend.capabilities.dtypes).toEqual(['f32', 'f16', 'i32']);
    expect(backend.capabilities.f16).toBe('emulated');
  });
  const kernels = kernelsOf(backend);
  conformanceSuite('gpujs webasm', () => kernels, { timeoutMs: 120_000 });
}
