// The gpu.js backend: the backend contract on gpu.js kernels, in any of
// gpu.js's webgpu, webasm or cpu modes. This class checks every call (buffers,
// dtypes, layouts), chooses the kernel program, and hands it to the kernel
// runner, which keeps program order over gpu.js's asynchronous parts.
// Fused kernels that dominate training have native gpu.js versions
// (fused-kernels.ts); the rest come from the composite defaults.

import type { DType, HostArray } from '../../tensor/dtype.js';
import type {
  Backend, BackendBuffer, BackendCapabilities, BackendMemoryStats, BinaryOp, MatmulDims, MatmulOperand,
  RandomDistribution, ReduceOp, StridedInput, StridedLayout, UnaryOp,
} from '../backend.js';
import { BINARY_OPS, UNARY_OPS } from '../backend.js';
import type { BlockStorage, DeviceBlockStorage } from './block-storage.js';
import { BufferPool, type PoolStats } from './buffer-pool.js';
import { fusedKernelsFor, type NativeFusedKernels } from './fused-kernels.js';
import type { GpuJsInstance, GpuJsKernelMode, WebAssemblyWorkerPool } from './gpujs-library.js';
import { assertStoredDType, fromStoredValues, storedFillValue, toStoredValues } from './host-values.js';
import { GpuJsBuffer } from './gpujs-buffer.js';
import { KernelRunner, type KernelStats } from './kernel-runner.js';
import { copyIntoCall } from './kernel-source/copy-into.js';
import { accumulateCall, binaryCall, castCall, fillCall, unaryCall } from './kernel-source/elementwise.js';
import { matmulCall } from './kernel-source/matmul.js';
import type { KernelCall } from './kernel-source/program.js';
import { randomCall } from './kernel-source/random.js';
import { reduceCall } from './kernel-source/reduce.js';
import { gatherRowsCall, scatterAddRowsCall } from './kernel-source/rows.js';
import { collapse, contiguousStrides, maxIndexOf, minIndexOf, nestedAxisOrder, numelOf } from './layout.js';
import { OrderedQueue } from './ordered-queue.js';

/** Buffers are limited so that exact i32 index division (helpers.ts) covers every index. */
export const MAX_ELEMENTS = 2 ** 30;

export interface GpuJsBackendParts<Block> {
  readonly mode: GpuJsKernelMode;
  readonly gpu: GpuJsInstance;
  readonly storage: BlockStorage<Block>;
  readonly workerPool: WebAssemblyWorkerPool | null;
  readonly features: readonly string[];
  readonly maxBufferBytes: number;
  readonly f16: boolean;
}

export interface GpuJsStats extends KernelStats {
  readonly mode: GpuJsKernelMode;
  readonly cachedKernels: number;
  readonly pool: PoolStats;
  /** Calls that waited behind asynchronous gpu.js work (webgpu builds, threaded webasm runs). */
  readonly deferredSteps: number;
  /** webasm: kernel runs handed to the worker pool (0 without threads). */
  readonly workerDispatches: number;
}

export class GpuJsBackend<Block = unknown> implements Backend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  readonly mode: GpuJsKernelMode;
  private readonly queue = new OrderedQueue();
  private readonly pool: BufferPool<Block>;
  private readonly runner: KernelRunner<Block>;
  private readonly storage: BlockStorage<Block>;
  private readonly parts: GpuJsBackendParts<Block>;
  private destroyed = false;
  private readonly fused: NativeFusedKernels;
  private readonly featureList: string[];
  /** Identifies this backend's buffers (not `this`: wrappers such as withCompositeDefaults call methods on an object derived from it). */
  private readonly identity = {};

  constructor(parts: GpuJsBackendParts<Block>) {
    this.parts = parts;
    this.mode = parts.mode;
    this.name = `gpujs:${parts.mode}`;
    this.storage = parts.storage;
    this.pool = new BufferPool(parts.storage);
    this.runner = new KernelRunner({ mode: parts.mode, gpu: parts.gpu, storage: parts.storage, pool: this.pool, queue: this.queue, workerPool: parts.workerPool });
    this.featureList = [...parts.features];
    this.capabilities = {
      dtypes: parts.f16 ? ['f32', 'f16', 'i32'] : ['f32', 'i32'],
      f16: parts.f16 ? 'emulated' : 'absent',
      maxBufferBytes: parts.maxBufferBytes,
      features: this.featureList,
      asyncDevice: parts.mode === 'webgpu',
      // Kernels cannot throw: the tensor layer checks indices on the device and raises at the next readback.
      indexErrors: 'deferred',
    };
    this.fused = fusedKernelsFor({
      launch: (call, out) => this.launch(call, out),
      scratch: (dtype, numel) => this.alloc(dtype, numel),
      release: (buffer) => this.free(buffer),
      check: (buffer, what, dtype) => this.own(buffer, what, dtype),
    });
    Object.assign(this, this.fused);
  }

  // ---- buffers -------------------------------------------------------------

  alloc(dtype: DType, numel: number): BackendBuffer {
    this.live();
    const stored = assertStoredDType(dtype, 'alloc');
    if (stored === 'f16' && !this.parts.f16) throw new Error(`gpujs backend (${this.mode}): alloc of f16: this backend declares f16 absent`);
    if (!Number.isInteger(numel) || numel < 0) throw new Error(`gpujs backend: alloc of ${numel} elements: expected a non-negative integer`);
    if (numel > MAX_ELEMENTS) {
      throw new Error(`gpujs backend: alloc of ${numel} ${dtype} elements exceeds ${MAX_ELEMENTS} (2^30), the most its exact i32 index math covers`);
    }
    if (numel * 4 > this.parts.maxBufferBytes) {
      throw new Error(`gpujs backend (${this.mode}): alloc of ${numel} ${dtype} elements (${numel * 4} bytes stored as f32) exceeds the device's ${this.parts.maxBufferBytes}-byte buffer limit`);
    }
    return new GpuJsBuffer(stored, numel, this.pool.acquire(numel * 4), this.identity);
  }

  free(buffer: BackendBuffer): void {
    const b = this.own(buffer, 'buffer to free');
    b.freed = true;
    this.pool.release(b.block);
  }

  write(buffer: BackendBuffer, data: HostArray, elementOffset = 0): void {
    const b = this.own(buffer, 'write target');
    if (elementOffset < 0 || elementOffset + data.length > b.numel) {
      throw new Error(`gpujs backend: write of ${data.length} elements at ${elementOffset} overruns a ${b.dtype} buffer of ${b.numel}`);
    }
    const values = toStoredValues(b.dtype, data, 'write');
    this.queue.enqueue(() => this.storage.write(b.block, elementOffset, values));
  }

  async read(buffer: BackendBuffer, elementOffset = 0, numel?: number): Promise<HostArray> {
    const b = this.own(buffer, 'read source');
    const count = numel ?? b.numel - elementOffset;
    if (elementOffset < 0 || count < 0 || elementOffset + count > b.numel) {
      throw new Error(`gpujs backend: read of ${count} elements at ${elementOffset} overruns a ${b.dtype} buffer of ${b.numel}`);
    }
    let values: Float32Array | Promise<Float32Array> = new Float32Array(0);
    this.queue.enqueue(() => {
      values = this.storage.read(b.block, elementOffset, count);
      // Awaited below, after the queue drains; marked handled now so an early failure is not reported as unhandled.
      if (values instanceof Promise) values.catch(() => undefined);
    });
    await this.queue.drain();
    return fromStoredValues(b.dtype, await values);
  }

  fill(buffer: BackendBuffer, value: number): void {
    const b = this.own(buffer, 'fill target');
    this.launch(fillCall(b, storedFillValue(b.dtype, value, 'fill')), b);
  }

  memoryStats(): BackendMemoryStats {
    const { reservedBytes, allocatedBytes } = this.pool.stats();
    return { reservedBytes, allocatedBytes };
  }

  /** Pool, cache and queue figures beyond the contract's memoryStats. */
  stats(): GpuJsStats {
    return {
      ...this.runner.kernelStats(), mode: this.mode, cachedKernels: this.runner.cachedKernels,
      pool: this.pool.stats(), deferredSteps: this.queue.deferredSteps,
      workerDispatches: this.parts.workerPool?.dispatchCount ?? 0,
    };
  }

  /** Cache keys of every kernel compiled so far: kernel name, output dtype and variant (rank, grid or flat). */
  compiledKernelKeys(): string[] {
    return this.runner.kernelKeys();
  }

  /** Adds a line to capabilities.features (how `auto` chose this mode). */
  noteFeature(line: string): void {
    this.featureList.push(line);
  }

  /** Gives cached free blocks back to the device or heap (live buffers are untouched). */
  trimPool(): void {
    this.pool.trim();
  }

  /** Resolves when every call so far has finished, on the device too (webgpu submits without waiting). */
  async sync(): Promise<void> {
    await this.queue.drain();
    await this.storage.finished();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.runner.destroy();
    this.parts.workerPool?.destroy();
    this.pool.destroyAll();
    (this.storage as Partial<DeviceBlockStorage>).releaseStaging?.();
    void this.parts.gpu.destroy().catch(() => undefined);
  }

  // ---- core kernels --------------------------------------------------------

  copy(shape: readonly number[], src: StridedInput, dst: BackendBuffer, dstLayout: StridedLayout): void {
    const d = this.own(dst, 'copy destination');
    this.own(src.buffer, 'copy source', d.dtype);
    this.checkLayout('copy', shape, src, 'source');
    this.checkLayout('copy', shape, { ...dstLayout, buffer: d }, 'destination');
    const numel = numelOf(shape);
    if (numel === 0) return;
    const dense = dstLayout.offset === 0 && numel === d.numel && dstLayout.strides.every((s, k) => shape[k] === 1 || s === contiguousStrides(shape)[k]);
    if (dense) {
      this.launch(castCall(shape, src, d), d);
      return;
    }
    const collapsed = collapse(shape, [src, dstLayout]);
    const order = nestedAxisOrder(collapsed.shape, collapsed.layouts[1]);
    if (!order) {
      throw new Error(`copy: destination layout (offset ${dstLayout.offset}, strides [${dstLayout.strides}]) over shape [${shape}] overlaps or interleaves; ` +
        'the gpujs backend writes only into layouts obtained by slicing, stepping and permuting a contiguous buffer');
    }
    const srcCollapsed = { buffer: src.buffer, ...collapsed.layouts[0] };
    this.launch(copyIntoCall(collapsed.shape, srcCollapsed, d, collapsed.layouts[1], order, d), d);
  }

  unary(op: UnaryOp, shape: readonly number[], x: StridedInput, out: BackendBuffer, scalar: number): void {
    if (!UNARY_OPS.includes(op)) throw new Error(`unary: unknown op '${op}'`);
    const o = this.own(out, `${op} output`);
    this.floatOnly(o, op);
    this.own(x.buffer, `${op} input`, o.dtype);
    this.checkLayout(op, shape, x, 'input');
    this.checkDense(op, shape, o);
    this.launch(unaryCall(op, shape, x, o, scalar), o);
  }

  binary(op: BinaryOp, shape: readonly number[], a: StridedInput, b: StridedInput, out: BackendBuffer): void {
    if (!BINARY_OPS.includes(op)) throw new Error(`binary: unknown op '${op}'`);
    const o = this.own(out, `${op} output`);
    this.floatOnly(o, op);
    this.own(a.buffer, `${op} a`, o.dtype);
    this.own(b.buffer, `${op} b`, o.dtype);
    this.checkLayout(op, shape, a, 'a');
    this.checkLayout(op, shape, b, 'b');
    this.checkDense(op, shape, o);
    this.launch(binaryCall(op, shape, a, b, o), o);
  }

  reduce(op: ReduceOp, shape: readonly number[], x: StridedInput, axis: number, out: BackendBuffer): void {
    const o = this.own(out, `reduce-${op} output`);
    this.floatOnly(o, `reduce-${op}`);
    this.own(x.buffer, `reduce-${op} input`, o.dtype);
    if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) throw new Error(`reduce-${op}: axis ${axis} is out of range for shape [${shape}]`);
    this.checkLayout(`reduce-${op}`, shape, x, 'input');
    this.checkDense(`reduce-${op}`, shape.filter((_, k) => k !== axis), o);
    this.launch(reduceCall(op, shape, x, axis, o), o);
  }

  matmul(dims: MatmulDims, a: MatmulOperand, b: MatmulOperand, out: BackendBuffer): void {
    const o = this.own(out, 'matmul output');
    this.floatOnly(o, 'matmul');
    this.own(a.buffer, 'matmul a', o.dtype);
    this.own(b.buffer, 'matmul b', o.dtype);
    const { batch, m, n, k } = dims;
    const what = `matmul (batch ${batch}, m ${m}, n ${n}, k ${k})`;
    for (const [name, operand, size] of [['a', a, m * k], ['b', b, k * n]] as const) {
      const last = operand.offset + (batch - 1) * Math.max(0, operand.batchStride) + size;
      if (size > 0 && batch > 0 && (operand.offset < 0 || operand.batchStride < 0 || last > operand.buffer.numel)) {
        throw new Error(`${what}: operand ${name} (offset ${operand.offset}, batch stride ${operand.batchStride}) overruns its buffer of ${operand.buffer.numel} elements`);
      }
    }
    if (o.numel < batch * m * n) throw new Error(`${what}: output buffer of ${o.numel} elements is smaller than ${batch * m * n}`);
    this.launch(matmulCall(dims, a, b, o), o);
  }

  cast(shape: readonly number[], x: StridedInput, out: BackendBuffer): void {
    const o = this.own(out, 'cast output');
    this.own(x.buffer, 'cast input');
    this.checkLayout('cast', shape, x, 'input');
    this.checkDense('cast', shape, o);
    this.launch(castCall(shape, x, o), o);
  }

  gatherRows(table: BackendBuffer, rows: number, cols: number, indices: BackendBuffer, n: number, out: BackendBuffer): void {
    const o = this.own(out, 'gather output');
    this.floatOnly(o, 'gatherRows');
    this.own(table, 'gather table', o.dtype);
    this.own(indices, 'gather indices', 'i32');
    this.checkSize('gatherRows', table, rows * cols, 'table');
    this.checkSize('gatherRows', indices, n, 'indices');
    this.checkSize('gatherRows', o, n * cols, 'output');
    this.launch(gatherRowsCall(table, rows, cols, indices, n, o), o);
  }

  scatterAddRows(src: BackendBuffer, indices: BackendBuffer, n: number, cols: number, out: BackendBuffer, rows: number): void {
    const o = this.own(out, 'scatter-add output');
    this.floatOnly(o, 'scatterAddRows');
    this.own(src, 'scatter-add source', o.dtype);
    this.own(indices, 'scatter-add indices', 'i32');
    this.checkSize('scatterAddRows', src, n * cols, 'source');
    this.checkSize('scatterAddRows', indices, n, 'indices');
    this.checkSize('scatterAddRows', o, rows * cols, 'output');
    this.launch(scatterAddRowsCall(src, indices, n, cols, o, rows, o), o);
  }

  accumulate(dst: BackendBuffer, src: BackendBuffer, numel: number): void {
    const d = this.own(dst, 'accumulate target');
    this.floatOnly(d, 'accumulate');
    this.own(src, 'accumulate source', d.dtype);
    this.checkSize('accumulate', d, numel, 'target');
    this.checkSize('accumulate', src, numel, 'source');
    this.launch(accumulateCall(d, src, numel, d), d);
  }

  random(out: BackendBuffer, distribution: RandomDistribution, seed: number, offset: number, a: number, b: number): void {
    const o = this.own(out, 'random output');
    this.floatOnly(o, `random-${distribution}`);
    if (distribution !== 'uniform' && distribution !== 'normal') throw new Error(`random: unknown distribution '${distribution}'`);
    // A normal reads stream words up to 2 * numel + 3 past the block start, as an i32 in the kernel.
    if (distribution === 'normal' && o.numel > 2 ** 29) throw new Error(`random-normal: ${o.numel} elements exceed the 2^29 one kernel draws on the gpujs backend`);
    this.launch(randomCall(o, distribution, seed, offset, a, b), o);
  }

  // ---- checks ----------------------------------------------------------------

  /** This backend's live buffer, optionally of `dtype`. */
  private own(buffer: BackendBuffer, what: string, dtype?: DType): GpuJsBuffer<Block> {
    this.live();
    if (!(buffer instanceof GpuJsBuffer) || buffer.owner !== this.identity) throw new Error(`gpujs backend (${this.mode}): ${what} is not a buffer of this backend`);
    if (buffer.freed) throw new Error(`gpujs backend (${this.mode}): ${what} was freed`);
    if (dtype !== undefined && buffer.dtype !== dtype) throw new Error(`gpujs backend: ${what} is ${buffer.dtype}, expected ${dtype}`);
    return buffer as GpuJsBuffer<Block>;
  }

  private launch(call: KernelCall, out: BackendBuffer): void {
    this.runner.launch(call, out as GpuJsBuffer<Block>);
  }

  private live(): void {
    if (this.destroyed) throw new Error(`gpujs backend (${this.mode}): used after destroy()`);
  }

  private floatOnly(buffer: BackendBuffer, op: string): void {
    if (buffer.dtype === 'i32') throw new Error(`${op}: i32 buffers are for indices and labels; ${op} takes f32 or f16`);
  }

  private checkLayout(op: string, shape: readonly number[], input: StridedInput, what: string): void {
    if (input.strides.length !== shape.length) {
      throw new Error(`${op}: ${what} has ${input.strides.length} strides for a shape of rank ${shape.length} ([${shape}])`);
    }
    if (numelOf(shape) === 0) return;
    const lowest = minIndexOf(shape, input);
    const highest = maxIndexOf(shape, input);
    if (lowest < 0 || highest >= input.buffer.numel) {
      throw new Error(`${op}: ${what} layout (offset ${input.offset}, strides [${input.strides}]) over shape [${shape}] reaches elements ${lowest}..${highest} of a ${input.buffer.dtype} buffer of ${input.buffer.numel}`);
    }
  }

  private checkDense(op: string, shape: readonly number[], out: BackendBuffer): void {
    const numel = numelOf(shape);
    if (out.numel < numel) throw new Error(`${op}: output buffer of ${out.numel} ${out.dtype} elements is smaller than shape [${shape}] (${numel})`);
  }

  private checkSize(op: string, buffer: BackendBuffer, needed: number, what: string): void {
    if (!Number.isInteger(needed) || needed < 0) throw new Error(`${op}: ${what} size ${needed} is not a non-negative integer`);
    if (buffer.numel < needed) throw new Error(`${op}: ${what} buffer of ${buffer.numel} ${buffer.dtype} elements is smaller than the ${needed} it needs`);
  }
}

// The native fused kernels are attached in the constructor (Object.assign); this declares them.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface GpuJsBackend<Block = unknown> extends NativeFusedKernels {}
