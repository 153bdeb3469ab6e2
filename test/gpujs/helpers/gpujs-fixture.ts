// Opens a gpu.js backend in one mode for a test file, or explains why it
// cannot. A mode that does not work here is skipped with the reason printed,
// except under CI=true, where it is a failing test: CI installs lavapipe (for
// webgpu) and Node always has WebAssembly, so a missing mode there is a broken
// setup, not a reason to pass.

import { afterAll, describe, it } from 'vitest';
import type { KernelSet } from '../../../src/backends/backend.js';
import { withCompositeDefaults } from '../../../src/backends/composite.js';
import { createGpuJsBackend, type GpuJsBackend, type GpuJsBackendOptions, type GpuJsMode } from '../../../src/backends/gpujs/index.js';

export const IN_CI = process.env.CI === 'true';

/** The backend, destroyed after the file's tests; null (with a skip or a CI failure registered) when the mode does not work. */
export async function openGpuJs(mode: GpuJsMode, options: Omit<GpuJsBackendOptions, 'mode'> = {}): Promise<GpuJsBackend | null> {
  let backend: GpuJsBackend;
  try {
    backend = await createGpuJsBackend({ ...options, mode });
  } catch (cause) {
    const reason = (cause as Error).message;
    if (IN_CI) {
      describe(`gpujs ${mode}`, () => {
        it(`runs in gpu.js's ${mode} mode (required when CI=true)`, () => { throw new Error(reason); });
      });
    } else {
      console.log(`[gpujs ${mode}] SKIPPED: ${reason}`);
      describe.skip(`gpujs ${mode} (skipped: mode unavailable)`, () => { it(`needs gpu.js's ${mode} mode`, () => {}); });
    }
    return null;
  }
  afterAll(() => backend.destroy());
  return backend;
}

/** The backend as a KernelSet: its native fused kernels, and the composite defaults for the rest (rotary, causal mask). */
export function kernelsOf(backend: GpuJsBackend): KernelSet {
  return withCompositeDefaults(backend, { alloc: (d, n) => backend.alloc(d, n), free: (b) => backend.free(b) });
}

/** Opens every gpu.js mode (each skipped with its reason, or failing under CI, when it does not work). */
export async function openAllModes(options: Omit<GpuJsBackendOptions, 'mode'> = {}): Promise<GpuJsBackend[]> {
  const backends: GpuJsBackend[] = [];
  for (const mode of ['webgpu', 'webasm', 'cpu'] as const) {
    const backend = await openGpuJs(mode, options);
    if (backend) backends.push(backend);
  }
  return backends;
}

/** Reads a buffer as plain numbers. */
export async function values(backend: GpuJsBackend, buffer: Parameters<GpuJsBackend['read']>[0]): Promise<number[]> {
  return Array.from(await backend.read(buffer));
}
