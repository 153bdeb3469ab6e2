// The `auto` backend: picks the fastest backend that works on this machine
// and says why, for commands that should just run well (`gradlab finetune`).
//
// Order, from measurements (bench/results): a WebGPU adapter on real
// hardware first; then the CPU-optimised candidates in the order listed in
// CPU_CANDIDATES; then WebGPU on a software adapter (Mesa's lavapipe runs
// the tiled WGSL matmul 4-5x faster than the reference CPU backend on the
// same cores); the `cpu` reference last.

import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/cpu-backend.js';

export interface BackendCandidate {
  readonly spec: string;
  readonly available: boolean;
  /** Why it was or was not picked. */
  readonly note: string;
}

export interface BackendChoice {
  readonly spec: string;
  readonly backend: Backend;
  /** One line for the user: what was picked and why. */
  readonly reason: string;
  readonly candidates: readonly BackendCandidate[];
}

/** Names a software (CPU-emulated) adapter: Mesa's lavapipe/llvmpipe, SwiftShader, or Dawn's fallback flag. */
export function isSoftwareAdapter(adapter: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean }): boolean {
  if (adapter.isFallbackAdapter) return true;
  const text = `${adapter.vendor} ${adapter.architecture} ${adapter.device} ${adapter.description}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|softpipe|software/.test(text);
}

/**
 * CPU-optimised backends tried before a software GPU adapter, best first.
 * Each entry opens the backend or throws with the reason it cannot.
 */
export const CPU_CANDIDATES: { spec: string; open: () => Promise<Backend> }[] = [
  // WebAssembly SIMD on every core: a stories15M training step 3-7x faster than lavapipe (bench/results/train-step.md).
  { spec: 'wasm', open: async () => (await import('./wasm/index.js')).createWasmBackendFromVariant([]) },
];

export async function chooseBestBackend(): Promise<BackendChoice> {
  const candidates: BackendCandidate[] = [];
  const { probeWebGpu } = await import('./webgpu/index.js');
  let probe: Awaited<ReturnType<typeof probeWebGpu>> | null = null;
  try {
    probe = await probeWebGpu();
  } catch (err) {
    candidates.push({ spec: 'webgpu', available: false, note: `no WebGPU: ${(err as Error).message}` });
  }
  const adapters = (probe?.attempts ?? []).filter((a) => a.ok && a.adapter);
  const hardware = adapters.find((a) => !isSoftwareAdapter(a.adapter!));
  if (hardware) {
    const spec = `webgpu:${hardware.kind}`;
    const backend = await (await import('./registry.js')).createBackend(spec);
    const name = hardware.adapter!.description || hardware.adapter!.device || hardware.adapter!.vendor;
    candidates.push({ spec, available: true, note: `hardware adapter: ${name}` });
    return { spec, backend, reason: `${spec}: a hardware GPU adapter (${name})`, candidates };
  }
  if (probe && adapters.length === 0) candidates.push({ spec: 'webgpu', available: false, note: 'no WebGPU adapter found' });
  for (const c of CPU_CANDIDATES) {
    try {
      const backend = await c.open();
      candidates.push({ spec: c.spec, available: true, note: 'picked: no hardware GPU, and it is the fastest CPU backend measured' });
      return { spec: c.spec, backend, reason: `${c.spec}: no hardware GPU adapter; the fastest CPU backend here`, candidates };
    } catch (err) {
      candidates.push({ spec: c.spec, available: false, note: (err as Error).message });
    }
  }
  const software = adapters.find((a) => a.kind === 'vulkan') ?? adapters[0];
  if (software) {
    const spec = `webgpu:${software.kind}`;
    try {
      const backend = await (await import('./registry.js')).createBackend(spec);
      const name = software.adapter!.device || software.adapter!.description;
      candidates.push({ spec, available: true, note: `software adapter (${name})` });
      return { spec, backend, reason: `${spec}: no hardware GPU; WebGPU on the software adapter ${name} beats the cpu reference backend`, candidates };
    } catch (err) {
      candidates.push({ spec, available: false, note: (err as Error).message });
    }
  }
  candidates.push({ spec: 'cpu', available: true, note: 'the reference backend, always available' });
  return { spec: 'cpu', backend: new CpuBackend(), reason: 'cpu: no WebGPU adapter or faster CPU backend is available here', candidates };
}
