// Times one case on one backend with benny: each benchmarked call records
// `repeat` ops and waits for the device once, so GPU latency is amortised and
// the figure is the throughput a training loop sees. The wait is a read of
// one output element, which by the backend contract resolves only after all
// earlier work, so a backend whose sync() returned early could not look fast.
// With timestamp queries on, the backend's own per-kernel GPU time is
// reported beside it.

import * as b from 'benny';
import type { WebGpuBackend } from '../../src/backends/webgpu/index.js';
import type { BenchCase } from './kernel-cases.js';
import type { OpenBackend } from './bench-backends.js';

export interface Timing {
  /** Wall time per op (ms), from benny's mean time per call. */
  readonly ms: number;
  /** Relative margin of error of the mean (%). */
  readonly rme: number;
  readonly samples: number;
  readonly repeat: number;
  /** Device time per op from timestamp queries (ms), when the backend measures it. */
  readonly gpuMs?: number;
}

/** Wall time for `repeat` ops plus one wait. */
async function timeOnce(run: () => void, wait: () => Promise<unknown>, repeat: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < repeat; i++) run();
  await wait();
  return performance.now() - t;
}

export async function timeCase(ob: OpenBackend, c: BenchCase, quick: boolean): Promise<Timing> {
  const prepared = c.setup(ob.kernels);
  let ops = 0;
  const run = () => { ops++; prepared.run(); };
  const wait = () => ob.backend.read(prepared.output, 0, 1);
  try {
    await timeOnce(run, wait, 1); // compiles pipelines
    const single = await timeOnce(run, wait, 1);
    // Enough ops per sample to spend ~25 ms, so sync latency is a small share of each sample.
    const repeat = Math.max(1, Math.min(200, Math.ceil(25 / Math.max(single, 1e-3))));
    const webgpu = ob.backend.name.startsWith('webgpu') ? (ob.backend as WebGpuBackend) : null;
    await ob.backend.sync();
    webgpu?.resetKernelTimes();
    ops = 0;
    let result: { margin: number; samples: number; details: { mean: number } } | undefined;
    const slow = single > 1000;
    await b.suite(
      `${c.id} on ${ob.spec}`,
      b.add(c.id, async () => {
        for (let i = 0; i < repeat; i++) run();
        await wait();
      }, { minSamples: slow || quick ? 2 : 5, maxTime: quick ? 0.2 : slow ? 1 : 2, initCount: 1 }),
      b.complete((summary) => { result = summary.results[0]; }),
    );
    if (!result) throw new Error(`benny produced no result for ${c.id}`);
    let gpuMs: number | undefined;
    if (webgpu?.profiling.enabled) {
      // Every dispatch since the reset belongs to this case's ops (several per op for RMSNorm backward).
      const times = await webgpu.kernelTimes();
      const total = times.reduce((sum, t) => sum + t.totalMs, 0);
      if (ops > 0 && total > 0) gpuMs = total / ops;
    }
    // details.mean (seconds per call) keeps full precision; benny's `ops` is rounded to an integer.
    return { ms: (1000 * result.details.mean) / repeat, rme: result.margin, samples: result.samples, repeat, gpuMs };
  } finally {
    prepared.free();
    await ob.backend.sync();
  }
}
