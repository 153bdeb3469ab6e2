// Every fused kernel has its own WGSL implementation on WebGPU; none falls
// back to the composite built from core kernels (which would cost extra
// passes and scratch memory). Checked against the list the composite module
// provides, so a fused kernel added later without a WGSL version fails here.

import { expect, it } from 'vitest';
import { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { compositeFusedKernels } from '../../src/backends/composite.js';
import { WebGpuBackend } from '../../src/backends/webgpu/index.js';

it('implements every fused kernel natively', () => {
  const cpu = new CpuBackend();
  const fusedNames = Object.keys(compositeFusedKernels(cpu, cpu));
  expect(fusedNames.length).toBeGreaterThan(10);
  const missing = fusedNames.filter((name) => typeof (WebGpuBackend.prototype as unknown as Record<string, unknown>)[name] !== 'function');
  expect(missing).toEqual([]);
});
