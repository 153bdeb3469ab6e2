// Runs a kernel on the main thread and N-1 worker_threads at once. Every thread
// has its own instance of the same module over the one shared memory; a call
// writes the kernel's index and arguments into a small shared control block,
// bumps a generation counter that the workers wait on (Atomics.wait), runs
// share 0 itself and waits until every worker has reported done. Kernel calls
// stay synchronous, so the backend runs eagerly in program order.

import { Worker } from 'node:worker_threads';
import type { WasmMemory, WasmModule } from './wasm-api.js';

const GENERATION = 0;
const KERNEL = 1;
const ARG_COUNT = 2;
const DONE = 3;
const FAILED = 4;
const CONTROL_INTS = 16;
const MAX_ARGS = 32;
const STOP = -1;

/** The math the kernels import from the host (see kernels/common.h). */
export const HOST_MATH = { sin: Math.sin, cos: Math.cos, pow: Math.pow };

// Each worker: instantiate, take its own stack, then loop on the generation counter.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { module, memory, control, names, tid, stackTop } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory, sin: Math.sin, cos: Math.cos, pow: Math.pow } });
instance.exports.set_stack_pointer(stackTop);
const ints = new Int32Array(control, 0, ${CONTROL_INTS});
const args = new Float64Array(control, ${CONTROL_INTS * 4});
const fns = names.map((n) => instance.exports[n]);
let seen = Atomics.load(ints, ${GENERATION});
parentPort.postMessage('ready');
for (;;) {
  Atomics.wait(ints, ${GENERATION}, seen);
  seen = Atomics.load(ints, ${GENERATION});
  const kernel = Atomics.load(ints, ${KERNEL});
  if (kernel === ${STOP}) break;
  const argc = ints[${ARG_COUNT}];
  const nt = args[argc];
  if (tid < nt) {
    const call = new Array(argc + 2);
    for (let i = 0; i < argc; i++) call[i] = args[i];
    call[argc] = tid;
    call[argc + 1] = nt;
    try { fns[kernel].apply(null, call); } catch (err) { Atomics.store(ints, ${FAILED}, 1); console.error('wasm worker ' + tid + ': ' + (err && err.stack || err)); }
  }
  Atomics.add(ints, ${DONE}, 1);
  Atomics.notify(ints, ${DONE});
}
`;

export class ThreadPool {
  private readonly ints: Int32Array;
  private readonly args: Float64Array;
  private readonly index: Map<string, number>;
  private readonly workers: Worker[] = [];

  private constructor(
    readonly threads: number,
    private readonly exports: Record<string, (...a: number[]) => unknown>,
    readonly kernelNames: readonly string[],
  ) {
    const control = new SharedArrayBuffer(CONTROL_INTS * 4 + (MAX_ARGS + 1) * 8);
    this.ints = new Int32Array(control, 0, CONTROL_INTS);
    this.args = new Float64Array(control, CONTROL_INTS * 4);
    this.index = new Map(kernelNames.map((n, i) => [n, i]));
  }

  /** Starts `threads - 1` workers, each with `stackTops[i]` as its stack. */
  static async start(
    threads: number, module: WasmModule, memory: WasmMemory,
    exports: Record<string, (...a: number[]) => unknown>, kernelNames: readonly string[], stackTops: readonly number[],
  ): Promise<ThreadPool> {
    const pool = new ThreadPool(threads, exports, kernelNames);
    const control = pool.ints.buffer as SharedArrayBuffer;
    const ready: Promise<void>[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, memory, control, names: kernelNames, tid, stackTop: stackTops[tid - 1] },
      });
      pool.workers.push(worker);
      ready.push(new Promise((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', (err) => reject(new Error(`wasm backend: worker ${tid} failed to start: ${err.message}`)));
      }));
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      pool.destroy();
      throw err;
    }
    // Idle workers must not keep the process alive.
    for (const w of pool.workers) w.unref();
    return pool;
  }

  /**
   * Calls kernel `name(...args, tid, nt)` on `nt` threads (1 runs it on this
   * thread alone). Returns the main thread's result.
   */
  run(name: string, args: readonly number[], nt: number): unknown {
    const fn = this.exports[name];
    if (nt <= 1 || this.workers.length === 0) return fn(...args, 0, 1);
    nt = Math.min(nt, this.threads);
    const kernel = this.index.get(name);
    if (kernel === undefined) throw new Error(`wasm backend: kernel ${name} is not registered for threads`);
    if (args.length > MAX_ARGS) throw new Error(`wasm backend: kernel ${name} called with ${args.length} arguments (at most ${MAX_ARGS})`);
    for (let i = 0; i < args.length; i++) this.args[i] = args[i];
    this.args[args.length] = nt;
    this.ints[ARG_COUNT] = args.length;
    Atomics.store(this.ints, KERNEL, kernel);
    Atomics.store(this.ints, DONE, 0);
    Atomics.add(this.ints, GENERATION, 1);
    Atomics.notify(this.ints, GENERATION);
    let result: unknown;
    let error: unknown;
    try {
      result = fn(...args, 0, nt);
    } catch (err) {
      error = err;
    }
    // Every worker wakes on each generation (those past nt just report done).
    const expected = this.workers.length;
    for (;;) {
      const done = Atomics.load(this.ints, DONE);
      if (done >= expected) break;
      Atomics.wait(this.ints, DONE, done);
    }
    if (error) throw error;
    if (Atomics.load(this.ints, FAILED)) {
      Atomics.store(this.ints, FAILED, 0);
      throw new Error(`wasm backend: kernel ${name} failed on a worker thread (see the error printed above)`);
    }
    return result;
  }

  destroy(): void {
    if (this.workers.length > 0) {
      Atomics.store(this.ints, KERNEL, STOP);
      Atomics.add(this.ints, GENERATION, 1);
      Atomics.notify(this.ints, GENERATION);
    }
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
