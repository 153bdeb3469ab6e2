// `wasm` through the registry: the thread count from the spec (default every
// core), a clear error for an unknown variant, and the doctor's probe line.

import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backends/registry.js';
import { describeWasm, probeWasm, wasmOptionsFromVariant } from '../../src/backends/wasm/index.js';

describe('wasm backend spec', () => {
  it('wasm uses every core; wasm:threads=N uses N', async () => {
    const all = await createBackend('wasm');
    const one = await createBackend('wasm:threads=1');
    try {
      expect(all.name).toBe(`wasm:threads=${availableParallelism()}`);
      expect(one.name).toBe('wasm:threads=1');
      expect(all.capabilities.features).toContain('simd128');
    } finally {
      all.destroy();
      one.destroy();
    }
  });

  it('names a bad variant or thread count', async () => {
    expect(() => wasmOptionsFromVariant(['fast'])).toThrow("backend 'wasm': unknown variant 'fast'; expected 'threads=N' or 'always-parallel'");
    await expect(createBackend('wasm:threads=0')).rejects.toThrow('wasm backend: threads must be an integer in [1, 256], got 0');
  });

  it('probes SIMD and shared memory for gradlab doctor', () => {
    const probe = probeWasm();
    // Node 20 has both; the line states them and the default thread count.
    expect(probe).toEqual({ simd: true, sharedMemory: true, defaultThreads: availableParallelism() });
    expect(describeWasm(probe)).toBe(`wasm: available (SIMD128 yes, shared memory yes, ${availableParallelism()} thread${availableParallelism() === 1 ? '' : 's'} by default; choose with wasm:threads=N)`);
    expect(describeWasm({ error: 'boom' })).toBe('wasm: could not probe (boom)');
  });
});
