// gpu.js's webasm mode splits kernels of 4096 or more output elements across
// worker threads (one pool shared by every kernel of the backend); smaller ones
// stay on the main thread. Results are the same either way.

import { describe, expect, it } from 'vitest';
import { createGpuJsBackend } from '../../src/backends/gpujs/index.js';
import { loadGpuJs } from '../../src/backends/gpujs/gpujs-library.js';
import { IN_CI } from './helpers/gpujs-fixture.js';

const threadsAvailable = loadGpuJs().WebAssemblyKernel.isThreadsSupported;
if (!threadsAvailable) {
  if (IN_CI) it('has WebAssembly threads (required when CI=true)', () => { throw new Error('this Node has no shared WebAssembly memory'); });
  else console.log('[gpujs webasm threads] SKIPPED: this platform has no shared WebAssembly memory');
}

describe.runIf(threadsAvailable)('webasm threads', () => {
  it('run big kernels on the shared worker pool and give the single-threaded results', async () => {
    const threaded = await createGpuJsBackend({ mode: 'webasm', threads: true, workers: 2 });
    const single = await createGpuJsBackend({ mode: 'webasm', threads: false });
    try {
      expect(threaded.capabilities.features).toContain('threads: 2 workers for kernels of >= 4096 elements');
      const results = [];
      for (const b of [threaded, single]) {
        const a = b.alloc('f32', 96 * 64);
        const c = b.alloc('f32', 64 * 80);
        const out = b.alloc('f32', 96 * 80);
        const small = b.alloc('f32', 100);
        b.random(a, 'normal', 1, 0, 0, 1);
        b.random(c, 'normal', 2, 0, 0, 1);
        const before = b.stats().workerDispatches;
        b.matmul({ batch: 1, m: 96, n: 80, k: 64 }, { buffer: a, offset: 0, batchStride: 0, transposed: false }, { buffer: c, offset: 0, batchStride: 0, transposed: false }, out);
        await b.sync();
        const afterBig = b.stats().workerDispatches;
        b.unary('exp', [100], { buffer: a, offset: 0, strides: [1] }, small, 0);
        await b.sync();
        results.push({ values: Array.from(await b.read(out)), bigDispatches: afterBig - before, smallDispatches: b.stats().workerDispatches - afterBig });
      }
      const [t, s] = results;
      expect(t.bigDispatches).toBeGreaterThan(0); // random fills and the matmul went to the workers
      expect(t.smallDispatches).toBe(0);
      expect(s.bigDispatches).toBe(0);
      expect(t.values).toEqual(s.values);
    } finally {
      threaded.destroy();
      single.destroy();
    }
  });
});
