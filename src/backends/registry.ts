// Backend selection by name. A backend spec is `name[:variant]`:
//   cpu
//   webgpu            (auto: Vulkan first, then OpenGL ES compatibility)
//   webgpu:vulkan | webgpu:gles     (force an adapter kind)
//   webgpu:vulkan:packed            (force packed f16 even when shader-f16 exists)
//   gpujs | gpujs:auto | gpujs:webgpu | gpujs:webasm | gpujs:cpu
//   wasm | wasm:threads=N            (WebAssembly SIMD kernels on N threads; default every core)
// Accelerator backends load lazily so `cpu` never touches Dawn or gpu.js.

import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/cpu-backend.js';

export const BACKEND_NAMES = ['cpu', 'webgpu', 'gpujs', 'wasm'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface ParsedBackendSpec {
  readonly name: BackendName;
  readonly variant: readonly string[];
}

export function parseBackendSpec(spec: string): ParsedBackendSpec {
  const [name, ...variant] = spec.split(':');
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown backend '${spec}'; expected one of ${BACKEND_NAMES.join(', ')} (optionally with ':variant', e.g. webgpu:gles, gpujs:webasm, wasm:threads=2)`);
  }
  return { name: name as BackendName, variant };
}

export async function createBackend(spec: string): Promise<Backend> {
  const parsed = parseBackendSpec(spec);
  switch (parsed.name) {
    case 'cpu':
      if (parsed.variant.length > 0) throw new Error(`backend 'cpu' has no variants (got '${spec}')`);
      return new CpuBackend();
    case 'webgpu': {
      const { createWebGpuBackendFromVariant } = await import('./webgpu/index.js');
      return createWebGpuBackendFromVariant(parsed.variant);
    }
    case 'gpujs': {
      const { createGpuJsBackendFromVariant } = await import('./gpujs/index.js');
      return createGpuJsBackendFromVariant(parsed.variant);
    }
    case 'wasm': {
      const { createWasmBackendFromVariant } = await import('./wasm/index.js');
      return createWasmBackendFromVariant(parsed.variant);
    }
  }
}
