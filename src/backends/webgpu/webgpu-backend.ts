// The WebGPU backend on Dawn. Kernels are WGSL programs generated per
// (kernel, storage form, specialization) and cached; every call records work
// into the command stream, and only `read` and `sync` wait for the GPU.

import type { DType, HostArray } from '../../tensor/dtype.js';
import { allocHostArray, bytesPerElement, hostArrayMatches } from '../../tensor/dtype.js';
import { f64ToF16Bits } from '../../tensor/f16.js';
import type {
  AdamWHyper, Backend, BackendBuffer, BackendCapabilities, BackendMemoryStats, BinaryOp, MatmulDims, MatmulOperand,
  RandomDistribution, ReduceOp, StridedInput, StridedLayout, UnaryOp,
} from '../backend.js';
import { openDevice, type AdapterDescription, type AdapterAttempt, type F16Mode } from './adapter.js';
import type { BindGroupCacheStats } from './bind-group-cache.js';
import { BufferPool, WebGpuBuffer, type PoolStats } from './buffer-pool.js';
import { alignUp, CommandStream, type StreamStats } from './command-stream.js';
import type { DawnModule } from './dawn.js';
import type { KernelHost } from './kernel-host.js';
import * as elementwise from './kernels/elementwise.js';
import * as fused from './kernels/fused-pointwise.js';
import { matmul, validateTile } from './kernels/matmul.js';
import { random } from './kernels/random.js';
import { reduce } from './kernels/reduce.js';
import * as rowKernels from './kernels/rows.js';
import * as rowwise from './kernels/rowwise.js';
import { formatMatmulTile, MATMUL_TILE_ENV, parseMatmulTile, profileFromEnv, type MatmulTile, type WebGpuBackendOptions } from './options.js';
import type { ParamValues } from './params.js';
import { PipelineCache, type PipelineCacheStats } from './pipeline-cache.js';
import type { Grid, Program } from './program.js';
import { TimestampProfiler, type KernelTime } from './profiler.js';

const DEFAULT_MAX_DISPATCHES = 128;

export interface ProfilingState {
  readonly enabled: boolean;
  /** Why profiling is off although it was asked for (e.g. no timestamp-query). */
  readonly unavailableReason?: string;
}

export class WebGpuBackend implements Backend, KernelHost {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  readonly f16Mode: F16Mode;
  readonly maxWorkgroupsPerDimension: number;
  readonly maxWorkgroupStorageBytes: number;
  readonly profiling: ProfilingState;
  /** A fixed matmul tiling (from options or GRADLAB_WEBGPU_MATMUL_TILE), else chosen per shape. */
  readonly matmulTile: MatmulTile | null;
  private readonly pool: BufferPool;
  private readonly pipelines: PipelineCache;
  private readonly stream: CommandStream;
  private readonly profiler: TimestampProfiler | null;
  private readonly gpuErrors: string[] = [];
  private lostError: Error | null = null;
  private destroyed = false;
  private readonly lostSignal: Promise<never>;
  private readonly maxBufferBytes: number;

  private constructor(
    /** The Dawn device (exposed for diagnostics and the device-loss test). */
    readonly device: GPUDevice,
    dawn: DawnModule,
    /** Dawn's GPU instance; held so it lives as long as the device it created. */
    readonly gpu: GPU,
    readonly adapter: AdapterDescription,
    readonly adapterAttempts: readonly AdapterAttempt[],
    f16Mode: F16Mode,
    timestampQuery: boolean,
    options: WebGpuBackendOptions,
  ) {
    this.f16Mode = f16Mode;
    const limits = device.limits;
    this.maxWorkgroupsPerDimension = limits.maxComputeWorkgroupsPerDimension;
    this.maxWorkgroupStorageBytes = limits.maxComputeWorkgroupStorageSize;
    this.maxBufferBytes = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
    const envTile = process.env[MATMUL_TILE_ENV];
    this.matmulTile = options.matmulTile ?? (envTile ? parseMatmulTile(envTile) : null);
    const wantProfile = options.profile ?? profileFromEnv();
    this.profiling = wantProfile && !timestampQuery
      ? { enabled: false, unavailableReason: `adapter '${adapter.description}' lacks timestamp-query` }
      : { enabled: wantProfile };
    this.name = `webgpu:${adapter.kind}${f16Mode === 'packed' && adapter.f16 === 'native' ? ':packed' : ''}`;
    this.capabilities = {
      dtypes: ['f32', 'f16', 'i32'],
      f16: f16Mode,
      maxBufferBytes: this.maxBufferBytes,
      features: [
        `adapter: ${adapter.kind} (${adapter.featureLevel}) ${adapter.description}`,
        `vendor: ${adapter.vendor || 'unknown'} ${adapter.architecture}`.trim(),
        f16Mode === 'native' ? 'f16: native (shader-f16)' : 'f16: packed two per u32, f32 arithmetic',
        ...adapter.features.filter((f) => f === 'shader-f16' || f === 'subgroups' || f === 'timestamp-query'),
        ...(this.profiling.enabled ? ['profiling: timestamp queries'] : []),
        ...(this.matmulTile ? [`matmul tile: ${formatMatmulTile(this.matmulTile)}`] : []),
      ],
      asyncDevice: true,
      // Kernels cannot throw: the tensor layer checks indices on the device and raises at the next readback.
      indexErrors: 'deferred',
    };
    let rejectLost!: (e: Error) => void;
    this.lostSignal = new Promise<never>((_, reject) => { rejectLost = reject; });
    this.lostSignal.catch(() => {});
    device.lost.then((info) => {
      this.lostError = new Error(
        this.destroyed
          ? `webgpu backend (${this.name}): used after destroy()`
          : `webgpu backend (${this.name}): the GPU device was lost (${info.reason}: ${info.message || 'no message'}); ` +
            'create a new backend to continue',
      );
      rejectLost(this.lostError);
    });
    device.addEventListener('uncapturederror', (event) => {
      const message = (event as GPUUncapturedErrorEvent).error.message;
      if (this.gpuErrors.length < 16) this.gpuErrors.push(message);
    });
    const usage = dawn.BufferUsage;
    // The stream exists by the time the pool destroys anything (releaseCached).
    this.pool = new BufferPool(device, usage.STORAGE | usage.COPY_SRC | usage.COPY_DST, this.maxBufferBytes, (gpu) => this.stream.forgetBuffer(gpu));
    this.pipelines = new PipelineCache(device, dawn, (program, message) => {
      const numbered = program.code.split('\n').map((line, i) => `${String(i + 1).padStart(4)}: ${line}`).join('\n');
      if (this.gpuErrors.length < 16) this.gpuErrors.push(`kernel ${program.label} (${program.key}) failed to compile: ${message}\n${numbered}`);
    });
    if (this.matmulTile) validateTile(this.matmulTile, this.maxWorkgroupStorageBytes);
    const maxDispatches = options.maxDispatchesPerBatch ?? DEFAULT_MAX_DISPATCHES;
    const watch = <T>(p: Promise<T>) => this.watch(p);
    this.profiler = this.profiling.enabled ? new TimestampProfiler(device, dawn, maxDispatches, watch) : null;
    this.stream = new CommandStream(device, dawn, maxDispatches, Math.max(16, limits.minUniformBufferOffsetAlignment), this.profiler, watch);
  }

  static async create(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
    const maxDispatches = options.maxDispatchesPerBatch ?? DEFAULT_MAX_DISPATCHES;
    if (!Number.isInteger(maxDispatches) || maxDispatches < 1) {
      throw new Error(`webgpu backend: maxDispatchesPerBatch must be a positive integer, got ${maxDispatches}`);
    }
    const wantProfile = options.profile ?? profileFromEnv();
    const opened = await openDevice({
      adapter: options.adapter ?? 'auto',
      f16: options.f16 ?? 'auto',
      timestamps: wantProfile,
      dawnFlags: options.dawnFlags ?? [],
    });
    try {
      return new WebGpuBackend(opened.device, opened.dawn, opened.gpu, opened.adapter, opened.attempts, opened.f16Mode, opened.timestampQuery, options);
    } catch (cause) {
      opened.device.destroy();
      throw cause;
    }
  }

  // ---- buffers -------------------------------------------------------------

  alloc(dtype: DType, numel: number): BackendBuffer {
    this.ensureUsable();
    if (dtype !== 'f32' && dtype !== 'f16' && dtype !== 'i32') {
      throw new Error(`webgpu alloc: dtype ${dtype} is not supported (WGSL has no f64); supported: f32, f16, i32 — use the cpu backend for f64`);
    }
    if (!Number.isInteger(numel) || numel < 0) throw new Error(`webgpu alloc: numel must be a non-negative integer, got ${numel}`);
    const bytes = numel * bytesPerElement(dtype);
    if (bytes > this.maxBufferBytes) {
      throw new Error(
        `webgpu alloc: ${numel} x ${dtype} (${bytes} bytes) exceeds the largest buffer adapter '${this.adapter.description}' can bind ` +
        `(${this.maxBufferBytes} bytes = min(maxBufferSize, maxStorageBufferBindingSize))`,
      );
    }
    const { gpu, capacityBytes } = this.pool.acquire(bytes, `${dtype}[${numel}]`);
    return new WebGpuBuffer(dtype, numel, gpu, capacityBytes, this.pool);
  }

  free(buffer: BackendBuffer): void {
    const b = this.own(buffer, 'free', 'buffer to free');
    b.freed = true;
    this.pool.release(b.gpu, b.capacityBytes);
  }

  write(buffer: BackendBuffer, data: HostArray, elementOffset = 0): void {
    const b = this.own(buffer, 'write', 'target');
    if (!hostArrayMatches(b.dtype, data)) throw new Error(`webgpu write: a ${data.constructor.name} cannot be written into a ${b.dtype} buffer`);
    if (!Number.isInteger(elementOffset) || elementOffset < 0 || elementOffset + data.length > b.numel) {
      throw new Error(`webgpu write: ${data.length} elements at offset ${elementOffset} overrun a ${b.dtype} buffer of ${b.numel}`);
    }
    if (data.length === 0) return;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (b.dtype === 'f16' && (elementOffset % 2 !== 0 || data.length % 2 !== 0)) {
      // Not whole 32-bit words: stage the halves, then let the copy kernel merge them in.
      const padded = new Uint16Array(data.length + (data.length % 2));
      padded.set(data as Uint16Array);
      const staging = this.scratch('f16', padded.length);
      this.stream.upload((staging as WebGpuBuffer).gpu, 0, new Uint8Array(padded.buffer));
      this.copy([data.length], { buffer: staging, offset: 0, strides: [1] }, b, { offset: elementOffset, strides: [1] });
      this.release(staging);
      return;
    }
    this.stream.upload(b.gpu, elementOffset * bytesPerElement(b.dtype), bytes);
  }

  async read(buffer: BackendBuffer, elementOffset = 0, numel?: number): Promise<HostArray> {
    const b = this.own(buffer, 'read', 'source');
    const count = numel ?? b.numel - elementOffset;
    if (!Number.isInteger(elementOffset) || elementOffset < 0 || !Number.isInteger(count) || count < 0 || elementOffset + count > b.numel) {
      throw new Error(`webgpu read: ${count} elements at offset ${elementOffset} overrun a ${b.dtype} buffer of ${b.numel}`);
    }
    const bpe = bytesPerElement(b.dtype);
    if (count === 0) {
      this.takeErrors();
      return allocHostArray(b.dtype, 0);
    }
    const start = elementOffset * bpe;
    const alignedStart = Math.floor(start / 4) * 4;
    const alignedEnd = alignUp(start + count * bpe, 4);
    const bytes = await this.stream.readBack(b.gpu, alignedStart, alignedEnd - alignedStart);
    this.takeErrors();
    const skip = start - alignedStart;
    switch (b.dtype) {
      case 'f32': return new Float32Array(bytes, skip, count);
      case 'i32': return new Int32Array(bytes, skip, count);
      case 'f16': return new Uint16Array(bytes, skip, count);
      default: throw new Error(`webgpu read: unexpected dtype ${b.dtype}`);
    }
  }

  fill(buffer: BackendBuffer, value: number): void {
    const b = this.own(buffer, 'fill', 'target');
    const bytes = b.numel * bytesPerElement(b.dtype);
    if (bytes === 0) return;
    let pattern: number;
    if (b.dtype === 'f32') pattern = new Uint32Array(new Float32Array([value]).buffer)[0];
    else if (b.dtype === 'i32') pattern = (value | 0) >>> 0;
    else {
      const bits = f64ToF16Bits(value);
      pattern = (bits | (bits << 16)) >>> 0;
    }
    const words = Math.ceil(bytes / 4);
    if (pattern === 0) this.stream.clearBuffer(b.gpu, 0, words * 4);
    else elementwise.fillWords(this, b, words, pattern);
  }

  memoryStats(): BackendMemoryStats {
    const s = this.pool.stats();
    return { reservedBytes: s.reservedBytes, allocatedBytes: s.allocatedBytes };
  }

  async sync(): Promise<void> {
    this.ensureUsable();
    await this.stream.drain();
    this.takeErrors();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.stream.destroy();
    this.pool.releaseCached();
    this.device.destroy();
  }

  // ---- introspection beyond the Backend contract ---------------------------

  poolStats(): PoolStats { return this.pool.stats(); }
  pipelineStats(): PipelineCacheStats { return this.pipelines.stats(); }
  streamStats(): StreamStats { return this.stream.stats(); }
  bindGroupStats(): BindGroupCacheStats { return this.stream.bindGroupStats(); }

  /** Destroys the pool's free buffers (reserved bytes drop to allocated bytes). */
  releaseCachedMemory(): void {
    this.pool.releaseCached();
  }

  /** GPU time per kernel since the last reset (submits pending work first). Empty unless profiling is on. */
  async kernelTimes(): Promise<KernelTime[]> {
    if (!this.profiler) return [];
    this.ensureUsable();
    this.stream.flush();
    const times = await this.profiler.kernelTimes();
    this.takeErrors();
    return times;
  }

  resetKernelTimes(): void {
    this.profiler?.reset();
  }

  // ---- KernelHost ----------------------------------------------------------

  run(key: string, build: () => Program, buffers: readonly BackendBuffer[], values: ParamValues, grid: Grid, label?: string): void {
    this.ensureUsable();
    const cached = this.pipelines.get(key, build);
    const bindings = cached.program.bindings;
    if (bindings.length !== buffers.length) throw new Error(`webgpu ${cached.program.label}: ${buffers.length} buffers for ${bindings.length} bindings`);
    const gpuBuffers = buffers.map((b, i) => this.own(b, cached.program.label, bindings[i].name).gpu);
    // WebGPU forbids binding one buffer as writable and as anything else in the same dispatch,
    // so an input that aliases an output is read from a snapshot copy.
    const temps: { gpu: GPUBuffer; capacityBytes: number }[] = [];
    bindings.forEach((b, i) => {
      const clash = bindings.findIndex((o, j) => j !== i && o.access === 'readwrite' && gpuBuffers[j] === gpuBuffers[i]);
      if (clash < 0) return;
      if (b.access === 'readwrite') {
        throw new Error(`webgpu ${cached.program.label}: '${b.name}' and '${bindings[clash].name}' are the same buffer; both are written`);
      }
      const source = buffers[i] as WebGpuBuffer;
      const temp = this.pool.acquire(source.capacityBytes, 'alias snapshot');
      this.stream.copyBufferToBuffer(source.gpu, 0, temp.gpu, 0, source.capacityBytes);
      gpuBuffers[i] = temp.gpu;
      temps.push(temp);
    });
    this.stream.dispatch(cached.pipeline, cached.bindGroupLayout, cached.program.params, values, gpuBuffers, grid, label ?? cached.program.label);
    for (const t of temps) this.pool.release(t.gpu, t.capacityBytes);
  }

  scratch(dtype: DType, numel: number): BackendBuffer {
    return this.alloc(dtype, numel);
  }

  release(buffer: BackendBuffer): void {
    this.free(buffer);
  }

  // ---- core kernels --------------------------------------------------------

  copy(shape: readonly number[], src: StridedInput, dst: BackendBuffer, dstLayout: StridedLayout): void {
    elementwise.copy(this, shape, src, dst, dstLayout);
  }

  unary(op: UnaryOp, shape: readonly number[], x: StridedInput, out: BackendBuffer, scalar: number): void {
    elementwise.unary(this, op, shape, x, out, scalar);
  }

  binary(op: BinaryOp, shape: readonly number[], a: StridedInput, b: StridedInput, out: BackendBuffer): void {
    elementwise.binary(this, op, shape, a, b, out);
  }

  reduce(op: ReduceOp, shape: readonly number[], x: StridedInput, axis: number, out: BackendBuffer): void {
    reduce(this, op, shape, x, axis, out);
  }

  matmul(dims: MatmulDims, a: MatmulOperand, b: MatmulOperand, out: BackendBuffer): void {
    matmul(this, dims, a, b, out, this.matmulTile);
  }

  cast(shape: readonly number[], x: StridedInput, out: BackendBuffer): void {
    elementwise.cast(this, shape, x, out);
  }

  gatherRows(table: BackendBuffer, rows: number, cols: number, indices: BackendBuffer, n: number, out: BackendBuffer): void {
    rowKernels.gatherRows(this, table, rows, cols, indices, n, out);
  }

  scatterAddRows(src: BackendBuffer, indices: BackendBuffer, n: number, cols: number, out: BackendBuffer, rows: number): void {
    rowKernels.scatterAddRows(this, src, indices, n, cols, out, rows);
  }

  accumulate(dst: BackendBuffer, src: BackendBuffer, numel: number): void {
    elementwise.accumulate(this, dst, src, numel);
  }

  random(out: BackendBuffer, distribution: RandomDistribution, seed: number, offset: number, a: number, b: number): void {
    random(this, out, distribution, seed, offset, a, b);
  }

  // ---- fused kernels -------------------------------------------------------

  softmax(x: BackendBuffer, rows: number, cols: number, log: boolean, out: BackendBuffer): void {
    rowwise.softmax(this, x, rows, cols, log, out);
  }

  softmaxBackward(y: BackendBuffer, g: BackendBuffer, rows: number, cols: number, log: boolean, gx: BackendBuffer): void {
    rowwise.softmaxBackward(this, y, g, rows, cols, log, gx);
  }

  rmsNorm(x: BackendBuffer, w: BackendBuffer, rows: number, cols: number, eps: number, y: BackendBuffer, rstd: BackendBuffer): void {
    rowwise.rmsNorm(this, x, w, rows, cols, eps, y, rstd);
  }

  rmsNormBackward(x: BackendBuffer, w: BackendBuffer, rstd: BackendBuffer, g: BackendBuffer, rows: number, cols: number, gx: BackendBuffer, gw: BackendBuffer): void {
    rowwise.rmsNormBackward(this, x, w, rstd, g, rows, cols, gx, gw);
  }

  rotary(x: BackendBuffer, cos: BackendBuffer, sin: BackendBuffer, batch: number, seq: number, heads: number, headDim: number, inverse: boolean, out: BackendBuffer): void {
    fused.rotary(this, x, cos, sin, batch, seq, heads, headDim, inverse, out);
  }

  siluMul(a: BackendBuffer, b: BackendBuffer, numel: number, out: BackendBuffer): void {
    fused.siluMul(this, a, b, numel, out);
  }

  siluMulBackward(a: BackendBuffer, b: BackendBuffer, g: BackendBuffer, numel: number, ga: BackendBuffer, gb: BackendBuffer): void {
    fused.siluMulBackward(this, a, b, g, numel, ga, gb);
  }

  crossEntropy(logits: BackendBuffer, labels: BackendBuffer, rows: number, cols: number, ignoreIndex: number, loss: BackendBuffer, lse: BackendBuffer): void {
    rowwise.crossEntropy(this, logits, labels, rows, cols, ignoreIndex, loss, lse);
  }

  crossEntropyBackward(logits: BackendBuffer, lse: BackendBuffer, labels: BackendBuffer, gRow: BackendBuffer, rows: number, cols: number, ignoreIndex: number, gLogits: BackendBuffer): void {
    fused.crossEntropyBackward(this, logits, lse, labels, gRow, rows, cols, ignoreIndex, gLogits);
  }

  causalMask(x: BackendBuffer, batch: number, rows: number, cols: number, value: number, out: BackendBuffer): void {
    fused.causalMask(this, x, batch, rows, cols, value, out);
  }

  dropout(x: BackendBuffer, numel: number, p: number, seed: number, offset: number, out: BackendBuffer): void {
    fused.dropout(this, x, numel, p, seed, offset, out);
  }

  adamw(param: BackendBuffer, grad: BackendBuffer, m: BackendBuffer, v: BackendBuffer, numel: number, hyper: AdamWHyper): void {
    fused.adamw(this, param, grad, m, v, numel, hyper);
  }

  unscaleGrads(grad: BackendBuffer, numel: number, invScale: number, foundInf: BackendBuffer): void {
    fused.unscaleGrads(this, grad, numel, invScale, foundInf);
  }

  // ---- internals -----------------------------------------------------------

  private own(buffer: BackendBuffer, op: string, what: string): WebGpuBuffer {
    this.ensureUsable();
    if (!(buffer instanceof WebGpuBuffer) || buffer.pool !== this.pool) {
      throw new Error(`webgpu ${op}: ${what} is not a buffer of this WebGPU backend (${this.name})`);
    }
    if (buffer.freed) throw new Error(`webgpu ${op}: ${what} (${buffer.dtype}[${buffer.numel}]) was already freed`);
    return buffer;
  }

  private ensureUsable(): void {
    if (this.destroyed) throw new Error(`webgpu backend (${this.name}): used after destroy()`);
    if (this.lostError) throw this.lostError;
  }

  /** Races a GPU promise against device loss, so a lost device rejects instead of hanging. */
  private async watch<T>(p: Promise<T>): Promise<T> {
    try {
      return await Promise.race([p, this.lostSignal]);
    } catch (cause) {
      if (this.lostError) throw this.lostError;
      throw cause;
    }
  }

  /** Throws the GPU errors reported since the last check (validation, compilation, out of memory). */
  private takeErrors(): void {
    if (this.lostError) throw this.lostError;
    if (this.gpuErrors.length === 0) return;
    const errors = this.gpuErrors.splice(0);
    throw new Error(`webgpu backend (${this.name}): the GPU reported ${errors.length} error(s): ${errors.join('\n---\n')}`);
  }
}
