/// <reference types="@webgpu/types" />
// gpu.js's webgpu mode looks for `navigator.gpu`, as in a browser. Node 20 has
// no `navigator`, so this gives gpu.js Dawn's WebGPU entry point (npm
// `webgpu`, the same Dawn the project's WebGPU backend uses) under that name.
// Nothing is replaced when a `navigator.gpu` already exists.

import { availableParallelism } from 'node:os';

interface DawnEntry {
  create(flags: string[]): GPU;
}

/** The GPU object handed to gpu.js; kept referenced so Dawn's instance lives as long as the process. */
let installed: GPU | null = null;

export interface NavigatorGpuStatus {
  readonly ok: boolean;
  /** Where `navigator.gpu` came from, or why there is none. */
  readonly detail: string;
}

export async function ensureNavigatorGpu(): Promise<NavigatorGpuStatus> {
  const existing = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (existing?.gpu) return { ok: true, detail: installed ? "Dawn (npm 'webgpu') as navigator.gpu" : 'navigator.gpu provided by the host' };
  let dawn: DawnEntry;
  try {
    dawn = (await import('webgpu')) as unknown as DawnEntry;
  } catch (cause) {
    return { ok: false, detail: `cannot load Dawn's Node bindings (npm 'webgpu'): ${(cause as Error).message}` };
  }
  let gpu: GPU;
  try {
    gpu = dawn.create([]);
  } catch (cause) {
    return { ok: false, detail: `Dawn's create() failed: ${(cause as Error).message}` };
  }
  installed = gpu;
  if (existing) {
    // Node >= 21 has a navigator object without `gpu`.
    Object.defineProperty(existing, 'gpu', { value: gpu, configurable: true, enumerable: true, writable: false });
  } else {
    // gpu.js's worker pool also reads navigator.hardwareConcurrency to size itself.
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu, hardwareConcurrency: availableParallelism() },
      configurable: true, enumerable: false, writable: true,
    });
  }
  return { ok: true, detail: "Dawn (npm 'webgpu') as navigator.gpu" };
}
