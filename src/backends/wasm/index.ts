// The wasm backend (C kernels compiled to WebAssembly SIMD, worker_threads over
// a shared memory): what the registry and `gradlab doctor` call.

import { availableParallelism } from 'node:os';
import type { Backend } from '../backend.js';
import { WasmBackend, type WasmBackendOptions } from './wasm-backend.js';
import { sharedMemorySupported, simdSupported } from './wasm-module.js';

export { WasmBackend } from './wasm-backend.js';
export type { WasmBackendOptions } from './wasm-backend.js';

export function createWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  return WasmBackend.create(options);
}

/** `wasm` (every core), `wasm:threads=N`; `wasm:threads=N:always-parallel` splits even tiny kernels (for tests). */
export function wasmOptionsFromVariant(variant: readonly string[]): WasmBackendOptions {
  const options: { threads?: number; alwaysParallel?: boolean } = {};
  for (const part of variant) {
    if (part === 'always-parallel') { options.alwaysParallel = true; continue; }
    const match = /^threads=(\d+)$/.exec(part);
    if (!match) throw new Error(`backend 'wasm': unknown variant '${part}'; expected 'threads=N' or 'always-parallel' (e.g. wasm:threads=2)`);
    options.threads = Number(match[1]);
  }
  return options;
}

export function createWasmBackendFromVariant(variant: readonly string[]): Promise<Backend> {
  return WasmBackend.create(wasmOptionsFromVariant(variant));
}

export interface WasmProbe {
  readonly simd: boolean;
  readonly sharedMemory: boolean;
  /** Threads `wasm` uses by default (every core). */
  readonly defaultThreads: number;
}

/** What `gradlab doctor` prints for wasm: SIMD and shared-memory support and the default thread count. */
export function probeWasm(): WasmProbe {
  return { simd: simdSupported(), sharedMemory: sharedMemorySupported(), defaultThreads: availableParallelism() };
}

/** One line for `gradlab doctor`, from probeWasm()'s result or the error that replaced it. */
export function describeWasm(result: unknown = probeWasm()): string {
  const failed = result as { error?: string };
  if (failed.error !== undefined) return `wasm: could not probe (${failed.error})`;
  const probe = result as WasmProbe;
  const ok = probe.simd && probe.sharedMemory;
  return `wasm: ${ok ? 'available' : 'unavailable'} (SIMD128 ${probe.simd ? 'yes' : 'no'}, shared memory ${probe.sharedMemory ? 'yes' : 'no'}, ` +
    `${probe.defaultThreads} thread${probe.defaultThreads === 1 ? '' : 's'} by default; choose with wasm:threads=N)`;
}
