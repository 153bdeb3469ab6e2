/// <reference types="@webgpu/types" />
// Compiles kernel programs once per cache key and launches them in program
// order. A launch binds the backend's own pooled storage as the kernel's
// input and output, so no kernel allocates per call:
//   webgpu  gpu.js binds the backend's GPU buffers directly: inputs as
//           pipeline handles, the output by pointing the kernel's output
//           buffer (INTERNAL) at the destination before the dispatch. A kernel
//           that reads its own destination writes to a pooled temporary that
//           is then copied over (WebGPU forbids binding one buffer as both).
//   webasm  gpu.js copies the host arrays into its wasm memory and returns a
//   cpu     fresh result, which is copied into the destination.
// Every compilation is counted (gpu.js kernels built, and the wasm modules
// webasm assembles per size signature), so tests can prove a repeated step
// does not recompile.

import type { BufferPool } from './buffer-pool.js';
import type { BlockStorage } from './block-storage.js';
import type { GpuJsBuffer } from './gpujs-buffer.js';
import type {
  GpuJsInstance, GpuJsKernel, GpuJsKernelMode, GpuJsKernelSettings, GpuJsKernelShortcut, WebAssemblyWorkerPool,
} from './gpujs-library.js';
import type { OrderedQueue } from './ordered-queue.js';
import type { KernelCall, KernelProgram } from './kernel-source/program.js';

export interface KernelStats {
  /** gpu.js kernels created and built (one per cache key). */
  readonly kernelsCompiled: number;
  /** WebAssembly modules gpu.js assembled (webasm builds one per kernel and size signature). */
  readonly modulesAssembled: number;
  /** Launches that found their kernel already compiled. */
  readonly cacheHits: number;
  readonly launches: number;
  /** webgpu launches that read their own destination and went through a temporary. */
  readonly inPlaceCopies: number;
}

interface CachedKernel {
  readonly shortcut: GpuJsKernelShortcut;
  readonly source: string;
  /** The output grid last set on the kernel, as a key. */
  output: string;
  /** webgpu: the output buffer in the kernel's current bind group. */
  boundTarget: unknown;
  checkedMode: boolean;
}

/** Loops longer than this would be cut short by gpu.js (it caps every loop); buffers are limited to 2^30 elements. */
const LOOP_LIMIT = 2 ** 30;
/** gpu.js's webasm backend splits a kernel across workers only from this many output elements on. */
const THREADED_MIN_ELEMENTS = 4096;
/** Wasm modules kept per webasm kernel (gpu.js's default of 8 would recompile models with more distinct shapes). */
const WASM_MODULES_PER_KERNEL = 64;

export interface KernelRunnerOptions<Block> {
  readonly mode: GpuJsKernelMode;
  readonly gpu: GpuJsInstance;
  readonly storage: BlockStorage<Block>;
  readonly pool: BufferPool<Block>;
  readonly queue: OrderedQueue;
  /** webasm only: run big kernels on this worker pool (gpu.js's async contract). */
  readonly workerPool: WebAssemblyWorkerPool | null;
}

export class KernelRunner<Block> {
  private readonly kernels = new Map<string, CachedKernel>();
  private stats = { kernelsCompiled: 0, modulesAssembled: 0, cacheHits: 0, launches: 0, inPlaceCopies: 0 };

  constructor(private readonly options: KernelRunnerOptions<Block>) {}

  /** Enqueues `call`, writing its output into `out`. Buffer arguments must be this backend's (checked by the caller). */
  launch(call: KernelCall, out: GpuJsBuffer<Block>): void {
    if (call.outputNumel === 0) return;
    if (call.outputNumel > out.numel) {
      throw new Error(`gpujs backend: internal error: kernel ${call.program.key} writes ${call.outputNumel} elements into a buffer of ${out.numel}`);
    }
    const { storage, queue, pool, mode } = this.options;
    const buffers = call.values.map((v) => (typeof v === 'number' ? null : (v as GpuJsBuffer<Block>)));
    // WebGPU cannot bind one buffer as both input and output: a kernel reading its destination writes a
    // temporary that is copied over. The temporary is taken from the pool here, in program order (taking
    // it inside a deferred step could hand out a block that later calls have already freed and reused).
    const inPlace = mode === 'webgpu' && buffers.some((b) => b !== null && b.block === out.block);
    const target = inPlace ? pool.acquire(call.outputNumel * 4) : out.block;
    queue.enqueue(() => {
      const entry = this.kernelFor(call.program);
      this.stats.launches++;
      const output = call.output.join('x');
      if (entry.output !== output) {
        entry.shortcut.setOutput([...call.output]);
        entry.output = output;
      }
      const args = call.values.map((v, i) => (typeof v === 'number' ? v : storage.kernelArgument(buffers[i]!.block, buffers[i]!.numel)));
      if (mode !== 'webgpu') return this.runOnHost(entry, call, args, out);
      return this.runOnDevice(entry, call, args, target, () => {
        if (!inPlace) return;
        this.stats.inPlaceCopies++;
        storage.copy(target, out.block, call.outputNumel);
      });
    });
    if (inPlace) pool.release(target);
  }

  kernelStats(): KernelStats {
    return { ...this.stats };
  }

  /** Number of distinct kernels compiled (cache entries). */
  get cachedKernels(): number {
    return this.kernels.size;
  }

  /** The cache keys of the compiled kernels (kernel, dtype and variant). */
  kernelKeys(): string[] {
    return [...this.kernels.keys()];
  }

  destroy(): void {
    for (const { shortcut } of this.kernels.values()) {
      const kernel = shortcut.kernel;
      // Neither the backend's buffers nor its shared worker pool belong to a kernel.
      kernel.outputBuffer = null;
      kernel._pool = null;
      try { shortcut.destroy(); } catch { /* a kernel that never built has nothing to release */ }
    }
    this.kernels.clear();
  }

  private runOnDevice(entry: CachedKernel, call: KernelCall, args: unknown[], target: Block, afterDispatch: () => void): void | Promise<void> {
    const kernel = entry.shortcut.kernel;
    kernel.outputBuffer = target as unknown as GPUBuffer;
    // gpu.js rebuilds its bind group when an input buffer changes; the output is ours to track.
    if (entry.boundTarget !== target) {
      kernel.bindGroupDirty = true;
      entry.boundTarget = target;
    }
    const finish = () => {
      kernel.outputBuffer = null;
      afterDispatch();
    };
    if (kernel.built) {
      // A built webgpu kernel encodes and submits synchronously (its promise only carries the output
      // handle); calling run() directly lets its errors throw here instead of in an ignored promise.
      try {
        (kernel as unknown as { run(...a: unknown[]): unknown }).run(...args);
      } catch (error) {
        kernel.outputBuffer = null;
        throw this.kernelError(call.program, error);
      }
      finish();
      return;
    }
    // First call: gpu.js compiles the WGSL asynchronously, then dispatches.
    return Promise.resolve(entry.shortcut(...args)).then(finish, (error: unknown) => {
      kernel.outputBuffer = null;
      throw this.kernelError(call.program, error);
    });
  }

  private runOnHost(entry: CachedKernel, call: KernelCall, args: unknown[], out: GpuJsBuffer<Block>): void | Promise<void> {
    const store = (result: unknown) => {
      this.checkMode(entry, call.program);
      const written = copyResult(result, out.block as unknown as Float32Array, 0);
      if (written !== call.outputNumel) {
        throw new Error(`gpujs backend (${this.options.mode}): kernel ${call.program.key} returned ${describe(result)} (${written} values), expected ${call.outputNumel}`);
      }
    };
    // Only big kernels go through gpu.js's async contract (worker threads); small ones stay synchronous,
    // so the queue does not wait on a promise per call.
    entry.shortcut.kernel.asyncMode = this.options.workerPool !== null && call.outputNumel >= THREADED_MIN_ELEMENTS;
    let result: unknown;
    try {
      result = entry.shortcut(...args);
    } catch (error) {
      throw this.kernelError(call.program, error);
    }
    if (result instanceof Promise) {
      return result.then(store, (error: unknown) => { throw this.kernelError(call.program, error); });
    }
    store(result);
  }

  /** gpu.js degrades a webasm kernel it cannot take to its cpu backend with only a console warning; refuse that. */
  private checkMode(entry: CachedKernel, program: KernelProgram): void {
    if (entry.checkedMode) return;
    const ran = entry.shortcut.kernel.constructor.mode;
    if (ran !== this.options.mode) {
      throw new Error(`gpujs backend: kernel ${program.key} ran on gpu.js's ${ran} backend instead of ${this.options.mode}` +
        `${entry.shortcut.kernel.fallbackReason ? ` (${entry.shortcut.kernel.fallbackReason})` : ''}`);
    }
    entry.checkedMode = true;
  }

  private kernelFor(program: KernelProgram): CachedKernel {
    const cached = this.kernels.get(program.key);
    if (cached) {
      if (cached.source !== program.source) {
        throw new Error(`gpujs backend: internal error: cache key ${program.key} names two different kernel sources`);
      }
      this.stats.cacheHits++;
      return cached;
    }
    const { mode, gpu, workerPool } = this.options;
    const settings: GpuJsKernelSettings = {
      output: [1],
      argumentTypes: program.argumentTypes,
      functions: [...program.functions],
      dynamicOutput: true,
      dynamicArguments: true,
      pipeline: mode === 'webgpu',
      immutable: false,
      loopMaxIterations: LOOP_LIMIT,
      precision: 'single',
      tactic: 'precision',
      asyncMode: mode === 'webasm' && workerPool !== null,
    };
    let shortcut: GpuJsKernelShortcut;
    try {
      shortcut = gpu.createKernel(program.source, settings);
    } catch (error) {
      throw this.kernelError(program, error);
    }
    const kernel: GpuJsKernel = shortcut.kernel;
    if (mode === 'webasm') {
      kernel.moduleCacheLimit = WASM_MODULES_PER_KERNEL;
      if (workerPool) kernel._pool = workerPool;
      const assemble = kernel._assembleModule;
      if (assemble) {
        kernel._assembleModule = (...args: unknown[]) => {
          this.stats.modulesAssembled++;
          return assemble.apply(kernel, args);
        };
      }
    }
    this.stats.kernelsCompiled++;
    const entry: CachedKernel = { shortcut, source: program.source, output: '1', boundTarget: null, checkedMode: mode === 'webgpu' };
    this.kernels.set(program.key, entry);
    return entry;
  }

  private kernelError(program: KernelProgram, error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    return new Error(`gpujs backend (${this.options.mode}): kernel ${program.key} failed: ${message}`, { cause: error });
  }
}

/**
 * Copies a host-mode result into `into` from `at`, in gpu.js's order (x fastest): a 1-D output is one
 * Float32Array, a 2-D output an array of rows, a 3-D output an array of layers of rows. Returns the
 * number of values copied.
 */
function copyResult(result: unknown, into: Float32Array, at: number): number {
  if (result instanceof Float32Array) {
    into.set(result, at);
    return result.length;
  }
  if (!Array.isArray(result)) return Number.NaN;
  let written = 0;
  for (const part of result) written += copyResult(part, into, at + written);
  return written;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  return `a ${(value as object).constructor?.name ?? typeof value}${ArrayBuffer.isView(value) ? ` of ${(value as Float32Array).length}` : ''}`;
}
