// Which backends a kernel benchmark runs side by side, opened through the
// registry so any backend that works here (gpu.js modes included) gets its
// column; one that does not is listed with the reason. Each backend gets a
// per-op work cap so a slow implementation (the JS reference, a software
// adapter) does not hold the run for minutes on the largest shapes.

import type { Backend } from '../../src/backends/backend.js';
import { createBackend } from '../../src/backends/registry.js';
import { withCompositeDefaults } from '../../src/backends/composite.js';
import type { KernelSet } from '../../src/backends/backend.js';
import type { WebGpuBackend } from '../../src/backends/webgpu/index.js';

export const DEFAULT_BACKENDS = ['cpu', 'wasm', 'webgpu:vulkan', 'webgpu:vulkan:packed', 'webgpu:gles', 'gpujs:webgpu', 'gpujs:webasm'];

export type BackendClass = 'gpu' | 'software-gpu' | 'cpu';

export interface OpenBackend {
  readonly spec: string;
  readonly backend: Backend;
  readonly kernels: KernelSet;
  readonly kind: BackendClass;
  /** Adapter or implementation, as printed in the results. */
  readonly description: string;
  readonly features: readonly string[];
  /** Largest FLOPs (or, for memory-bound cases, bytes / 4) of one op this backend is given. */
  readonly maxWorkPerOp: number;
}

export interface UnavailableBackend {
  readonly spec: string;
  readonly reason: string;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|software/i;

function isWebGpu(b: Backend): b is WebGpuBackend {
  return b.name.startsWith('webgpu') && 'adapter' in b;
}

export function classify(b: Backend): { kind: BackendClass; description: string } {
  if (isWebGpu(b)) {
    const a = b.adapter;
    const software = a.isFallbackAdapter || SOFTWARE.test(`${a.description} ${a.device} ${a.architecture}`);
    return { kind: software ? 'software-gpu' : 'gpu', description: `${a.kind}: ${a.description}` };
  }
  const features = b.capabilities.features.join(' ');
  if (b.name.startsWith('gpujs') && /webgpu/.test(b.name) && !SOFTWARE.test(features)) {
    return { kind: 'gpu', description: features };
  }
  return { kind: 'cpu', description: b.capabilities.features[0] ?? b.name };
}

/** Default caps: about a few seconds per op at the speeds seen for each class. */
const DEFAULT_CAP: Record<BackendClass, number> = { gpu: Infinity, 'software-gpu': 5e10, cpu: 2.5e9 };

export async function openBackends(specs: readonly string[], capOverride: number | null, quick: boolean): Promise<{ open: OpenBackend[]; unavailable: UnavailableBackend[] }> {
  const open: OpenBackend[] = [];
  const unavailable: UnavailableBackend[] = [];
  for (const spec of specs) {
    let backend: Backend;
    try {
      // Timestamp queries (where the adapter has them) give a GPU-time column next to wall time.
      backend = await createBackend(spec.startsWith('webgpu') && !spec.includes('profile') ? `${spec}:profile` : spec);
    } catch (cause) {
      unavailable.push({ spec, reason: (cause as Error).message.split('\n')[0] });
      continue;
    }
    const { kind, description } = classify(backend);
    const allocator = { alloc: backend.alloc.bind(backend), free: backend.free.bind(backend) };
    const cap = capOverride ?? (quick ? Math.min(DEFAULT_CAP[kind], 1e9) : DEFAULT_CAP[kind]);
    open.push({ spec, backend, kernels: withCompositeDefaults(backend, allocator), kind, description, features: backend.capabilities.features, maxWorkPerOp: cap });
  }
  return { open, unavailable };
}
