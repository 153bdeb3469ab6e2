// The wasm backend: every kernel is C compiled to WebAssembly with 128-bit SIMD
// (kernels/*.c), running on the main thread plus worker_threads over one shared
// WasmMemory that holds every tensor. Kernels run eagerly and
// synchronously, so `read` resolves at once. Work is split so that each output
// element is computed by one thread in a fixed order: results are bitwise
// identical for every thread count.

import { availableParallelism } from 'node:os';
import type { DType, HostArray } from '../../tensor/dtype.js';
import { bytesPerElement, hostArrayMatches } from '../../tensor/dtype.js';
import { f64ToF16Bits } from '../../tensor/f16.js';
import { contiguousStrides } from '../../tensor/shape.js';
import type {
  AdamWHyper, Backend, BackendBuffer, BackendCapabilities, BackendMemoryStats, BinaryOp, MatmulDims, MatmulOperand,
  RandomDistribution, ReduceOp, StridedInput, StridedLayout, UnaryOp,
} from '../backend.js';
import { BINARY_OPS, UNARY_OPS } from '../backend.js';
import { descriptorWords, simplifyWalk } from './strided-descriptor.js';
import { HOST_MATH, ThreadPool } from './thread-pool.js';
import { asWasm, dtypeCode, WasmBuffer } from './wasm-buffer.js';
import { MAX_MEMORY_BYTES, WasmHeap } from './wasm-heap.js';
import { kernelModule } from './wasm-module.js';
import { wasmApi, type WasmMemory } from './wasm-api.js';
import { indexOutOfRange, labelOutOfRange } from '../index-errors.js';

export interface WasmBackendOptions {
  /** Threads (the main thread included); default: every core (os.availableParallelism()). */
  threads?: number;
  /**
   * Split every kernel among the threads however small (tests use this so the
   * conformance cases exercise the threaded paths); by default small kernels
   * run on the main thread alone.
   */
  alwaysParallel?: boolean;
}

/**
 * Below this much work (elements, weighted by cost for the fused kernels; multiply-adds
 * for matmul) a kernel runs on the main thread alone: waking a worker costs tens of
 * microseconds on an idle machine and up to a scheduler time slice on a busy one.
 */
const PARALLEL_MIN_ELEMENTS = 1 << 18;
const PARALLEL_MIN_MACS = 1 << 20;
const WORKER_STACK_BYTES = 256 * 1024;
const DESCRIPTOR_BYTES = 4096;

type Exports = Record<string, (...a: number[]) => number>;

export class WasmBackend implements Backend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  private readonly view: { u8: Uint8Array };
  private destroyed = false;

  private constructor(
    readonly threads: number,
    private readonly alwaysParallel: boolean,
    private readonly memory: WasmMemory,
    private readonly exports: Exports,
    private readonly heap: WasmHeap,
    private readonly pool: ThreadPool,
    /** Scratch for strided descriptors (kernels copy nothing out of it). */
    private readonly descriptorPtr: number,
    /** Per-thread matmul workspaces, `matmulWorkspaceBytes` apart. */
    private readonly workspacePtr: number,
    private readonly matmulWorkspaceBytes: number,
  ) {
    this.name = `wasm:threads=${threads}`;
    this.capabilities = {
      dtypes: ['f32', 'f16', 'i32'],
      f16: 'emulated',
      maxBufferBytes: MAX_MEMORY_BYTES / 2,
      features: ['simd128', `threads=${threads}`, 'shared memory', 'f16 storage converted in the kernels (round to nearest even)'],
      asyncDevice: false,
      indexErrors: 'immediate',
    };
    this.view = { u8: new Uint8Array(memory.buffer) };
  }

  static async create(options: WasmBackendOptions = {}): Promise<WasmBackend> {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new Error(`wasm backend: threads must be an integer in [1, 256], got ${threads}`);
    }
    const module = await kernelModule();
    const memory = new wasmApi.Memory({ initial: 64, maximum: MAX_MEMORY_BYTES / 65536, shared: true });
    const instance = await wasmApi.instantiate(module, { env: { memory, ...HOST_MATH } });
    const exports = instance.exports as unknown as Exports;
    const heapBase = (instance.exports.__heap_base as { value: number }).value;
    const heap = new WasmHeap(memory, heapBase);
    // Runtime areas (not tensors, not ledgered): worker stacks, descriptor scratch, matmul workspaces.
    const stackTops: number[] = [];
    for (let t = 1; t < threads; t++) {
      const { ptr } = heap.alloc(WORKER_STACK_BYTES, `worker ${t} stack`);
      stackTops.push(ptr + WORKER_STACK_BYTES);
    }
    const descriptorPtr = heap.alloc(DESCRIPTOR_BYTES, 'descriptor scratch').ptr;
    const matmulWorkspaceBytes = exports.k_matmul_workspace_bytes();
    const workspacePtr = heap.alloc(matmulWorkspaceBytes * threads, 'matmul workspaces').ptr;
    const kernelNames = Object.keys(exports).filter((n) => n.startsWith('k_'));
    const pool = await ThreadPool.start(threads, module, memory, exports, kernelNames, stackTops);
    const backend = new WasmBackend(threads, options.alwaysParallel ?? false, memory, exports, heap, pool, descriptorPtr, workspacePtr, matmulWorkspaceBytes);
    backend.runtimeBytes = heap.reservedBytes;
    return backend;
  }

  /** Bytes the runtime itself holds (stacks, scratch), excluded from the pool figures. */
  private runtimeBytes = 0;

  // ---- memory ------------------------------------------------------------------------

  private bytes(): Uint8Array {
    // A grown memory has a new, longer buffer; views are refreshed lazily.
    if (this.view.u8.byteLength !== this.memory.buffer.byteLength) this.view.u8 = new Uint8Array(this.memory.buffer);
    return this.view.u8;
  }

  private check(): void {
    if (this.destroyed) throw new Error('wasm backend: used after destroy()');
  }

  alloc(dtype: DType, numel: number): BackendBuffer {
    this.check();
    dtypeCode(dtype, 'a new buffer');
    if (!Number.isInteger(numel) || numel < 0) throw new Error(`wasm backend: cannot allocate ${numel} elements of ${dtype}`);
    const bytes = numel * bytesPerElement(dtype);
    const { ptr, blockBytes } = this.heap.alloc(bytes, `a ${dtype} buffer of ${numel} elements`);
    return new WasmBuffer(dtype, numel, ptr, blockBytes);
  }

  free(buffer: BackendBuffer): void {
    const b = asWasm(buffer, 'buffer to free');
    b.freed = true;
    this.heap.free(b.ptr, b.blockBytes);
  }

  write(buffer: BackendBuffer, data: HostArray, elementOffset = 0): void {
    const b = asWasm(buffer, 'write target');
    if (!hostArrayMatches(b.dtype, data)) throw new Error(`wasm backend: write of ${data.constructor.name} into a ${b.dtype} buffer`);
    if (elementOffset + data.length > b.numel) throw new Error(`wasm backend: write of ${data.length} elements at ${elementOffset} overruns a buffer of ${b.numel}`);
    const size = bytesPerElement(b.dtype);
    this.bytes().set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), b.ptr + elementOffset * size);
  }

  async read(buffer: BackendBuffer, elementOffset = 0, numel?: number): Promise<HostArray> {
    return this.readSync(buffer, elementOffset, numel);
  }

  /** The buffer's contents now (kernels are synchronous, so this is after all earlier work). */
  readSync(buffer: BackendBuffer, elementOffset = 0, numel?: number): HostArray {
    const b = asWasm(buffer, 'read source');
    const count = numel ?? b.numel - elementOffset;
    if (elementOffset < 0 || count < 0 || elementOffset + count > b.numel) throw new Error(`wasm backend: read of ${count} elements at ${elementOffset} from a buffer of ${b.numel}`);
    const start = b.ptr + elementOffset * bytesPerElement(b.dtype);
    const raw = this.bytes().slice(start, start + count * bytesPerElement(b.dtype));
    switch (b.dtype) {
      case 'f32': return new Float32Array(raw.buffer);
      case 'f16': return new Uint16Array(raw.buffer);
      default: return new Int32Array(raw.buffer);
    }
  }

  fill(buffer: BackendBuffer, value: number): void {
    const b = asWasm(buffer, 'fill target');
    const u8 = this.bytes();
    switch (b.dtype) {
      case 'f32': new Float32Array(u8.buffer, b.ptr, b.numel).fill(value); break;
      case 'i32': new Int32Array(u8.buffer, b.ptr, b.numel).fill(value); break;
      default: new Uint16Array(u8.buffer, b.ptr, b.numel).fill(f64ToF16Bits(value));
    }
  }

  memoryStats(): BackendMemoryStats {
    return { reservedBytes: this.heap.reservedBytes - this.runtimeBytes, allocatedBytes: this.heap.allocatedBytes - this.runtimeBytes };
  }

  async sync(): Promise<void> {}

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pool.destroy();
  }

  // ---- dispatch ------------------------------------------------------------------------

  private threadsFor(work: number, min = PARALLEL_MIN_ELEMENTS): number {
    return work >= min || this.alwaysParallel ? this.threads : 1;
  }

  private run(name: string, args: readonly number[], work: number, min?: number): number {
    this.check();
    return this.pool.run(name, args, this.threadsFor(work, min)) as number;
  }

  /** Kernels that must run on one thread (serial scatter-add order, error reporting). */
  private runSerial(name: string, args: readonly number[]): number {
    this.check();
    return this.pool.run(name, args, 1) as number;
  }

  /** Writes the simplified walk's descriptor into the scratch area; returns its address and element count. */
  private descriptor(shape: readonly number[], layouts: ReadonlyArray<{ offset: number; strides: readonly number[] }>): { ptr: number; numel: number } {
    const numel = shape.reduce((a, d) => a * d, 1);
    if (numel === 0) return { ptr: this.descriptorPtr, numel: 0 };
    const words = descriptorWords(simplifyWalk(shape, layouts));
    new Int32Array(this.bytes().buffer, this.descriptorPtr, words.length).set(words);
    return { ptr: this.descriptorPtr, numel };
  }

  // ---- core kernels ---------------------------------------------------------------------

  copy(shape: readonly number[], src: StridedInput, dst: BackendBuffer, dstLayout: StridedLayout): void {
    const s = asWasm(src.buffer, 'copy source');
    const d = asWasm(dst, 'copy destination');
    if (s.dtype !== d.dtype) throw new Error(`wasm backend: copy from ${s.dtype} to ${d.dtype}; copy keeps the dtype (use cast)`);
    const desc = this.descriptor(shape, [src, dstLayout]);
    if (desc.numel === 0) return;
    this.run('k_copy', [desc.ptr, s.ptr, d.ptr, bytesPerElement(s.dtype)], desc.numel);
  }

  unary(op: UnaryOp, shape: readonly number[], x: StridedInput, out: BackendBuffer, scalar: number): void {
    const xb = asWasm(x.buffer, `${op} input`);
    const o = asWasm(out, `${op} output`);
    const dt = floatCode(xb.dtype, op);
    if (o.dtype !== xb.dtype) throw new Error(`wasm backend: ${op} of ${xb.dtype} into a ${o.dtype} output`);
    const desc = this.descriptor(shape, [x, { offset: 0, strides: contiguousStrides(shape) }]);
    if (desc.numel === 0) return;
    this.run('k_unary', [UNARY_OPS.indexOf(op), desc.ptr, xb.ptr, o.ptr, dt, scalar], desc.numel);
  }

  binary(op: BinaryOp, shape: readonly number[], a: StridedInput, b: StridedInput, out: BackendBuffer): void {
    const ab = asWasm(a.buffer, `${op} a`);
    const bb = asWasm(b.buffer, `${op} b`);
    const o = asWasm(out, `${op} output`);
    const dt = floatCode(ab.dtype, op);
    if (bb.dtype !== ab.dtype || o.dtype !== ab.dtype) throw new Error(`wasm backend: ${op} of ${ab.dtype} and ${bb.dtype} into ${o.dtype}; all three must match`);
    const desc = this.descriptor(shape, [a, b, { offset: 0, strides: contiguousStrides(shape) }]);
    if (desc.numel === 0) return;
    this.run('k_binary', [BINARY_OPS.indexOf(op), desc.ptr, ab.ptr, bb.ptr, o.ptr, dt], desc.numel);
  }

  reduce(op: ReduceOp, shape: readonly number[], x: StridedInput, axis: number, out: BackendBuffer): void {
    const xb = asWasm(x.buffer, `reduce-${op} input`);
    const o = asWasm(out, `reduce-${op} output`);
    const dt = floatCode(xb.dtype, `reduce-${op}`);
    if (axis < 0 || axis >= shape.length) throw new Error(`wasm backend: reduce-${op} over axis ${axis} of a rank-${shape.length} shape`);
    const kept = shape.filter((_, i) => i !== axis);
    const keptStrides = x.strides.filter((_, i) => i !== axis);
    const desc = this.descriptor(kept, [{ offset: x.offset, strides: keptStrides }, { offset: 0, strides: contiguousStrides(kept) }]);
    if (desc.numel === 0) return;
    this.run('k_reduce', [op === 'max' ? 1 : 0, desc.ptr, xb.ptr, o.ptr, dt, shape[axis], x.strides[axis]], desc.numel * Math.max(1, shape[axis]));
  }

  matmul(dims: MatmulDims, a: MatmulOperand, b: MatmulOperand, out: BackendBuffer): void {
    const { batch, m, n, k } = dims;
    const ab = asWasm(a.buffer, 'matmul a');
    const bb = asWasm(b.buffer, 'matmul b');
    const o = asWasm(out, 'matmul out');
    if (ab.dtype !== bb.dtype || o.dtype !== ab.dtype || ab.dtype === 'i32') {
      throw new Error(`wasm backend: matmul of ${ab.dtype} (${m}x${k}) and ${bb.dtype} (${k}x${n}) into ${o.dtype}; expected one float dtype (f32 or f16) for all three`);
    }
    if (batch * m * n === 0) return;
    const size = bytesPerElement(ab.dtype);
    this.run('k_matmul', [
      batch, m, n, k,
      ab.ptr + a.offset * size, a.batchStride, a.transposed ? 1 : 0,
      bb.ptr + b.offset * size, b.batchStride, b.transposed ? 1 : 0,
      o.ptr, dtypeCode(ab.dtype, 'matmul'), this.workspacePtr, this.matmulWorkspaceBytes,
    ], batch * m * n * k, PARALLEL_MIN_MACS);
  }

  cast(shape: readonly number[], x: StridedInput, out: BackendBuffer): void {
    const xb = asWasm(x.buffer, 'cast input');
    const o = asWasm(out, 'cast output');
    const desc = this.descriptor(shape, [x, { offset: 0, strides: contiguousStrides(shape) }]);
    if (desc.numel === 0) return;
    this.run('k_cast', [desc.ptr, xb.ptr, dtypeCode(xb.dtype, 'cast input'), o.ptr, dtypeCode(o.dtype, 'cast output')], desc.numel);
  }

  gatherRows(table: BackendBuffer, rows: number, cols: number, indices: BackendBuffer, n: number, out: BackendBuffer): void {
    const t = asWasm(table, 'gather table');
    const idx = asWasm(indices, 'gather indices');
    const o = asWasm(out, 'gather output');
    const bad = this.runSerial('k_gather_rows', [t.ptr, rows, cols, idx.ptr, n, o.ptr, bytesPerElement(t.dtype)]);
    if (bad >= 0) throw new Error(indexOutOfRange('embedding', this.int32At(idx, bad), bad, rows));
  }

  scatterAddRows(src: BackendBuffer, indices: BackendBuffer, n: number, cols: number, out: BackendBuffer, rows: number): void {
    const s = asWasm(src, 'scatter-add source');
    const idx = asWasm(indices, 'scatter-add indices');
    const o = asWasm(out, 'scatter-add output');
    const bad = this.runSerial('k_scatter_add_rows', [s.ptr, idx.ptr, n, cols, o.ptr, rows, floatCode(s.dtype, 'scatter-add')]);
    if (bad >= 0) throw new Error(indexOutOfRange('embedding backward', this.int32At(idx, bad), bad, rows));
  }

  /** Labels live in this process's memory, so an invalid one throws here, before the kernel, as on the CPU reference. */
  private assertLabels(op: string, labels: WasmBuffer, rows: number, cols: number, ignoreIndex: number): void {
    const values = new Int32Array(this.bytes().buffer, labels.ptr, rows);
    for (let i = 0; i < rows; i++) {
      const label = values[i];
      if (label !== ignoreIndex && (label < 0 || label >= cols)) {
        throw new Error(labelOutOfRange(op, label, i, cols, ignoreIndex));
      }
    }
  }

  private int32At(b: WasmBuffer, i: number): number {
    return new Int32Array(this.bytes().buffer, b.ptr, b.numel)[i];
  }

  accumulate(dst: BackendBuffer, src: BackendBuffer, numel: number): void {
    const d = asWasm(dst, 'accumulate target');
    const s = asWasm(src, 'accumulate source');
    if (numel === 0) return;
    this.run('k_accumulate', [d.ptr, s.ptr, numel, floatCode(d.dtype, 'accumulate')], numel);
  }

  random(out: BackendBuffer, distribution: RandomDistribution, seed: number, offset: number, a: number, b: number): void {
    const o = asWasm(out, 'random output');
    if (o.numel === 0) return;
    this.run('k_random', [o.ptr, floatCode(o.dtype, 'random'), o.numel, distribution === 'normal' ? 1 : 0, seed, offset, a, b], o.numel * 8);
  }

  // ---- fused kernels ---------------------------------------------------------------------

  softmax(x: BackendBuffer, rows: number, cols: number, log: boolean, out: BackendBuffer): void {
    const xb = asWasm(x, 'softmax input');
    this.run('k_softmax', [xb.ptr, rows, cols, log ? 1 : 0, asWasm(out, 'softmax output').ptr, floatCode(xb.dtype, 'softmax')], rows * cols * 8);
  }

  softmaxBackward(y: BackendBuffer, g: BackendBuffer, rows: number, cols: number, log: boolean, gx: BackendBuffer): void {
    const yb = asWasm(y, 'softmax-backward y');
    this.run('k_softmax_backward', [yb.ptr, asWasm(g, 'softmax-backward grad').ptr, rows, cols, log ? 1 : 0, asWasm(gx, 'softmax-backward output').ptr, floatCode(yb.dtype, 'softmax backward')], rows * cols * 4);
  }

  rmsNorm(x: BackendBuffer, w: BackendBuffer, rows: number, cols: number, eps: number, y: BackendBuffer, rstd: BackendBuffer): void {
    const xb = asWasm(x, 'rmsnorm input');
    const r = asWasm(rstd, 'rmsnorm rstd');
    requireDType(r, 'f32', 'rmsnorm rstd');
    this.run('k_rms_norm', [xb.ptr, asWasm(w, 'rmsnorm weight').ptr, rows, cols, eps, asWasm(y, 'rmsnorm output').ptr, r.ptr, floatCode(xb.dtype, 'rmsnorm')], rows * cols * 4);
  }

  rmsNormBackward(x: BackendBuffer, w: BackendBuffer, rstd: BackendBuffer, g: BackendBuffer, rows: number, cols: number, gx: BackendBuffer, gw: BackendBuffer): void {
    const xb = asWasm(x, 'rmsnorm-backward input');
    const r = asWasm(rstd, 'rmsnorm-backward rstd');
    requireDType(r, 'f32', 'rmsnorm-backward rstd');
    this.run('k_rms_norm_backward', [
      xb.ptr, asWasm(w, 'rmsnorm-backward weight').ptr, r.ptr, asWasm(g, 'rmsnorm-backward grad').ptr, rows, cols,
      asWasm(gx, 'rmsnorm-backward gx').ptr, asWasm(gw, 'rmsnorm-backward gw').ptr, floatCode(xb.dtype, 'rmsnorm backward'),
    ], rows * cols * 4);
  }

  rotary(x: BackendBuffer, cos: BackendBuffer, sin: BackendBuffer, batch: number, seq: number, heads: number, headDim: number, inverse: boolean, out: BackendBuffer): void {
    const xb = asWasm(x, 'rotary input');
    const c = asWasm(cos, 'rotary cos');
    const s = asWasm(sin, 'rotary sin');
    requireDType(c, 'f32', 'rotary cos table');
    requireDType(s, 'f32', 'rotary sin table');
    this.run('k_rotary', [xb.ptr, c.ptr, s.ptr, batch, seq, heads, headDim, inverse ? 1 : 0, asWasm(out, 'rotary output').ptr, floatCode(xb.dtype, 'rotary')], batch * seq * heads * headDim);
  }

  siluMul(a: BackendBuffer, b: BackendBuffer, numel: number, out: BackendBuffer): void {
    const ab = asWasm(a, 'silu-mul a');
    this.run('k_silu_mul', [ab.ptr, asWasm(b, 'silu-mul b').ptr, numel, asWasm(out, 'silu-mul output').ptr, floatCode(ab.dtype, 'silu-mul')], numel * 4);
  }

  siluMulBackward(a: BackendBuffer, b: BackendBuffer, g: BackendBuffer, numel: number, ga: BackendBuffer, gb: BackendBuffer): void {
    const ab = asWasm(a, 'silu-mul-backward a');
    this.run('k_silu_mul_backward', [
      ab.ptr, asWasm(b, 'silu-mul-backward b').ptr, asWasm(g, 'silu-mul-backward grad').ptr, numel,
      asWasm(ga, 'silu-mul-backward ga').ptr, asWasm(gb, 'silu-mul-backward gb').ptr, floatCode(ab.dtype, 'silu-mul backward'),
    ], numel * 4);
  }

  crossEntropy(logits: BackendBuffer, labels: BackendBuffer, rows: number, cols: number, ignoreIndex: number, loss: BackendBuffer, lse: BackendBuffer): void {
    const x = asWasm(logits, 'cross-entropy logits');
    const lb = asWasm(labels, 'cross-entropy labels');
    const lo = asWasm(loss, 'cross-entropy loss');
    const ls = asWasm(lse, 'cross-entropy lse');
    requireDType(lb, 'i32', 'cross-entropy labels');
    requireDType(lo, 'f32', 'cross-entropy loss');
    requireDType(ls, 'f32', 'cross-entropy lse');
    this.assertLabels('crossEntropy', lb, rows, cols, ignoreIndex);
    this.run('k_cross_entropy', [x.ptr, lb.ptr, rows, cols, ignoreIndex, lo.ptr, ls.ptr, floatCode(x.dtype, 'cross-entropy')], rows * cols * 8);
  }

  crossEntropyBackward(logits: BackendBuffer, lse: BackendBuffer, labels: BackendBuffer, gRow: BackendBuffer, rows: number, cols: number, ignoreIndex: number, gLogits: BackendBuffer): void {
    const x = asWasm(logits, 'cross-entropy-backward logits');
    const ls = asWasm(lse, 'cross-entropy-backward lse');
    const lb = asWasm(labels, 'cross-entropy-backward labels');
    const gr = asWasm(gRow, 'cross-entropy-backward grad');
    requireDType(ls, 'f32', 'cross-entropy-backward lse');
    requireDType(lb, 'i32', 'cross-entropy-backward labels');
    requireDType(gr, 'f32', 'cross-entropy-backward grad');
    this.assertLabels('crossEntropyBackward', lb, rows, cols, ignoreIndex);
    this.run('k_cross_entropy_backward', [x.ptr, ls.ptr, lb.ptr, gr.ptr, rows, cols, ignoreIndex, asWasm(gLogits, 'cross-entropy-backward output').ptr, floatCode(x.dtype, 'cross-entropy backward')], rows * cols * 8);
  }

  causalMask(x: BackendBuffer, batch: number, rows: number, cols: number, value: number, out: BackendBuffer): void {
    const xb = asWasm(x, 'causal-mask input');
    this.run('k_causal_mask', [xb.ptr, batch, rows, cols, value, asWasm(out, 'causal-mask output').ptr, floatCode(xb.dtype, 'causal mask')], batch * rows * cols);
  }

  dropout(x: BackendBuffer, numel: number, p: number, seed: number, offset: number, out: BackendBuffer): void {
    const xb = asWasm(x, 'dropout input');
    this.run('k_dropout', [xb.ptr, numel, p, seed, offset, asWasm(out, 'dropout output').ptr, floatCode(xb.dtype, 'dropout')], numel * 8);
  }

  adamw(param: BackendBuffer, grad: BackendBuffer, m: BackendBuffer, v: BackendBuffer, numel: number, h: AdamWHyper): void {
    const buffers = [asWasm(param, 'adamw param'), asWasm(grad, 'adamw grad'), asWasm(m, 'adamw exp_avg'), asWasm(v, 'adamw exp_avg_sq')];
    for (const [i, b] of buffers.entries()) requireDType(b, 'f32', ['adamw param', 'adamw grad', 'adamw exp_avg', 'adamw exp_avg_sq'][i]);
    const biasCorrection1 = 1 - h.beta1 ** h.step;
    const biasCorrection2Sqrt = Math.sqrt(1 - h.beta2 ** h.step);
    this.run('k_adamw', [...buffers.map((b) => b.ptr), numel, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, biasCorrection1, biasCorrection2Sqrt], numel * 4);
  }

  unscaleGrads(grad: BackendBuffer, numel: number, invScale: number, foundInf: BackendBuffer): void {
    const g = asWasm(grad, 'unscale grad');
    const f = asWasm(foundInf, 'unscale found-inf flag');
    requireDType(f, 'f32', 'unscale found-inf flag');
    this.run('k_unscale_grads', [g.ptr, numel, invScale, f.ptr, floatCode(g.dtype, 'unscale')], numel);
  }
}

function floatCode(dtype: DType, op: string): number {
  if (dtype !== 'f32' && dtype !== 'f16') throw new Error(`wasm backend: ${op} on ${dtype}; expected f32 or f16`);
  return dtypeCode(dtype, op);
}

function requireDType(b: WasmBuffer, dtype: DType, what: string): void {
  if (b.dtype !== dtype) throw new Error(`wasm backend: ${what} must be ${dtype}, got ${b.dtype}`);
}
