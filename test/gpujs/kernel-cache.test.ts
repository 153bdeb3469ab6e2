// Compilation happens once per kernel, dtype and shape: a repeated training
// step compiles nothing. Counted twice: by the backend's own statistics, and
// independently at the compiler (WebGPU shader modules on the device gpu.js
// uses; WebAssembly modules for webasm), so a cache that only claims hits fails.

import { afterEach, describe, expect, it } from 'vitest';
import type { BackendBuffer } from '../../src/backends/backend.js';
import type { GpuJsBackend } from '../../src/backends/gpujs/index.js';
import { loadGpuJs } from '../../src/backends/gpujs/gpujs-library.js';
import { openAllModes } from './helpers/gpujs-fixture.js';

const backends = await openAllModes();

/** Counts compilations at the compiler itself, for the mode's compiler. */
async function compilerCounter(backend: GpuJsBackend): Promise<{ count: () => number; restore: () => void }> {
  if (backend.mode === 'webgpu') {
    const { device } = await loadGpuJs().WebGPUContext.acquire();
    const original = device.createShaderModule;
    let count = 0;
    device.createShaderModule = function (descriptor: GPUShaderModuleDescriptor) { count++; return original.call(this, descriptor); };
    return { count: () => count, restore: () => { device.createShaderModule = original; } };
  }
  if (backend.mode === 'webasm') {
    // gpu.js compiles each wasm module with `new WebAssembly.Module(bytes)`.
    const wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: ArrayBufferView) => object } }).WebAssembly;
    const Original = wasm.Module;
    let count = 0;
    wasm.Module = class CountingModule extends Original {
      constructor(bytes: ArrayBufferView) { super(bytes); count++; }
    };
    return { count: () => count, restore: () => { wasm.Module = Original; } };
  }
  // gpu.js's cpu mode compiles with new Function; the backend's count is the only one.
  return { count: () => backend.stats().kernelsCompiled, restore: () => {} };
}

/** One "training step" worth of kernels at fixed shapes: forward, loss, backward, optimizer. */
async function step(b: GpuJsBackend): Promise<void> {
  const buffers: BackendBuffer[] = [];
  const alloc = (numel: number, dtype: 'f32' | 'i32' = 'f32') => { const x = b.alloc(dtype, numel); buffers.push(x); return x; };
  const x = alloc(8 * 16); const w = alloc(10 * 16); const h = alloc(8 * 10); const lse = alloc(8); const loss = alloc(8);
  const labels = alloc(8, 'i32'); const gRow = alloc(8); const gh = alloc(8 * 10); const gw = alloc(10 * 16); const m = alloc(10 * 16); const v = alloc(10 * 16);
  b.random(x, 'normal', 1, 0, 0, 1);
  b.random(w, 'uniform', 2, 0, -0.25, 0.25);
  b.write(labels, Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]));
  b.fill(gRow, 1 / 8); b.fill(m, 0); b.fill(v, 0);
  b.matmul({ batch: 1, m: 8, n: 10, k: 16 }, { buffer: x, offset: 0, batchStride: 0, transposed: false }, { buffer: w, offset: 0, batchStride: 0, transposed: true }, h);
  b.crossEntropy(h, labels, 8, 10, -100, loss, lse);
  b.crossEntropyBackward(h, lse, labels, gRow, 8, 10, -100, gh);
  b.matmul({ batch: 1, m: 10, n: 16, k: 8 }, { buffer: gh, offset: 0, batchStride: 0, transposed: true }, { buffer: x, offset: 0, batchStride: 0, transposed: false }, gw);
  b.adamw(w, gw, m, v, 10 * 16, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 });
  await b.read(loss);
  for (const buffer of buffers) b.free(buffer);
}

for (const backend of backends) {
  describe(`kernel cache on gpujs ${backend.mode}`, () => {
    let restore = () => {};
    afterEach(() => restore());

    it('a repeated step compiles nothing and hits the cache for every launch', async () => {
      await step(backend); // warm-up: compiles what the step needs
      const counter = await compilerCounter(backend);
      restore = counter.restore;
      const before = backend.stats();
      await step(backend);
      await step(backend);
      const after = backend.stats();
      expect(counter.count() - (backend.mode === 'cpu' ? before.kernelsCompiled : 0)).toBe(0);
      expect(after.kernelsCompiled).toBe(before.kernelsCompiled);
      expect(after.modulesAssembled).toBe(before.modulesAssembled);
      const launches = after.launches - before.launches;
      expect(launches).toBeGreaterThan(20);
      expect(after.cacheHits - before.cacheHits).toBe(launches);
    });

    it('a new shape of a compiled kernel reuses it (webasm assembles one wasm module for the new size)', async () => {
      const counter = await compilerCounter(backend);
      restore = counter.restore;
      const x = backend.alloc('f32', 300);
      const y = backend.alloc('f32', 300);
      const before = backend.stats();
      const atStart = counter.count();
      // cos is used nowhere else in this file, so its first call compiles, and the counter must see it.
      backend.unary('cos', [300], { buffer: x, offset: 0, strides: [1] }, y, 0);
      await backend.sync();
      const compiledOnce = backend.stats();
      const afterFirst = counter.count();
      backend.unary('cos', [299], { buffer: x, offset: 1, strides: [1] }, y, 0);
      await backend.sync();
      const after = backend.stats();
      backend.free(x);
      backend.free(y);
      expect(compiledOnce.kernelsCompiled - before.kernelsCompiled).toBe(1);
      expect(afterFirst - atStart).toBe(1);
      expect(after.kernelsCompiled).toBe(compiledOnce.kernelsCompiled);
      if (backend.mode === 'webasm') {
        // gpu.js bakes sizes into the wasm bytecode: one new module for the new size, no new kernel.
        expect(after.modulesAssembled - compiledOnce.modulesAssembled).toBe(1);
        expect(counter.count() - afterFirst).toBe(1);
      } else {
        // webgpu reads sizes from its params buffer; cpu reads them at run time.
        expect(counter.count() - afterFirst).toBe(0);
      }
    });
  });
}
