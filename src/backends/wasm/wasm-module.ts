// The compiled kernels (kernels/*.c built by scripts/build-wasm.sh into a
// committed .wasm), compiled once per process.

import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { wasmApi, type WasmModule } from './wasm-api.js';

export const WASM_FILE = new URL('./kernels/gradlab-kernels.wasm', import.meta.url);

let compiled: Promise<WasmModule> | null = null;

export function kernelModule(): Promise<WasmModule> {
  compiled ??= (async () => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(WASM_FILE);
    } catch (err) {
      throw new Error(`wasm backend: cannot read the kernel module ${WASM_FILE.pathname} (${(err as Error).message}); build it with scripts/build-wasm.sh`);
    }
    // V8 first runs wasm in its baseline compiler (Liftoff) and tiers up hot functions
    // later; these kernels are few, long-running and SIMD-heavy, and their Liftoff code
    // ran a training step 2.5x slower. Optimize from the start (process-wide flag: other
    // wasm modules compiled afterwards also skip the baseline tier).
    setFlagsFromString('--no-liftoff');
    return wasmApi.compile(bytes);
  })();
  return compiled;
}

/** Whether this engine validates a module that uses 128-bit SIMD (a one-function probe). */
export function simdSupported(): boolean {
  // (module (func (result v128) (v128.const i32x4 0 0 0 0)))
  const probe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]);
  return wasmApi.validate(probe);
}

/** Whether shared memory (and so worker threads over it) is available. */
export function sharedMemorySupported(): boolean {
  try {
    return new wasmApi.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}
