// Opens a WebGPU backend for a test file, or explains why it cannot. Without
// an adapter a suite is skipped with the reason printed, except under
// CI=true, where a missing adapter is a failing test (CI installs lavapipe,
// so its absence is a broken setup, not a reason to pass).

import { afterAll, describe, it } from 'vitest';
import { createWebGpuBackend, type WebGpuBackend, type WebGpuBackendOptions } from '../../../src/backends/webgpu/index.js';
import { withCompositeDefaults } from '../../../src/backends/composite.js';
import type { KernelSet } from '../../../src/backends/backend.js';

export const IN_CI = process.env.CI === 'true';

/** The backend, destroyed after the file's tests; null (with a skip or a CI failure registered) when unavailable. */
export async function openWebGpu(label: string, options: WebGpuBackendOptions): Promise<WebGpuBackend | null> {
  let backend: WebGpuBackend;
  try {
    backend = await createWebGpuBackend(options);
  } catch (cause) {
    const reason = (cause as Error).message;
    if (IN_CI) {
      describe(`webgpu ${label}`, () => {
        it('has a WebGPU adapter (required when CI=true)', () => { throw new Error(reason); });
      });
    } else {
      console.log(`[webgpu ${label}] SKIPPED: ${reason}`);
      describe.skip(`webgpu ${label} (skipped: no adapter)`, () => { it('needs a WebGPU adapter', () => {}); });
    }
    return null;
  }
  afterAll(() => backend.destroy());
  return backend;
}

/** The backend as a KernelSet; it implements every fused kernel itself, so nothing composite is filled in. */
export function kernelsOf(backend: WebGpuBackend): KernelSet {
  return withCompositeDefaults(backend, { alloc: (d, n) => backend.alloc(d, n), free: (b) => backend.free(b) });
}
