// Opens wasm backends for the tests, one per thread count, closed after the file.

import { afterAll } from 'vitest';
import { createWasmBackend, type WasmBackend } from '../../src/backends/wasm/index.js';

/** `alwaysParallel` splits even tiny kernels among the threads, so small cases test the threaded paths. */
export async function openWasm(threads: number, alwaysParallel = false): Promise<WasmBackend> {
  const backend = await createWasmBackend({ threads, alwaysParallel });
  afterAll(() => backend.destroy());
  return backend;
}
