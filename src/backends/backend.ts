// The backend contract. Backends work on raw buffers, shapes and strides; they
// never see the Tensor class. The tensor layer allocates every output (so the
// memory ledger sees every byte) and hands buffers in.
//
// Ordering: every call is enqueued in program order. Only `read` is async; it
// resolves after all earlier work has finished. A GPU backend may batch
// dispatches and submit them lazily.

import type { DType, FloatDType, HostArray } from '../tensor/dtype.js';

/** An opaque handle to backend memory holding `numel` elements of one dtype. */
export interface BackendBuffer {
  readonly dtype: DType;
  readonly numel: number;
}

/** A strided window onto a buffer: element offset and per-axis element strides. */
export interface StridedLayout {
  readonly offset: number;
  readonly strides: readonly number[];
}

export interface StridedInput extends StridedLayout {
  readonly buffer: BackendBuffer;
}

export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'sigmoid' | 'silu' | 'abs'
  | 'sin' | 'cos' | 'square' | 'reciprocal' | 'relu'
  // ops with one scalar attribute
  | 'addScalar' | 'mulScalar' | 'powScalar';
export const UNARY_OPS: readonly UnaryOp[] = [
  'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'sigmoid', 'silu', 'abs', 'sin', 'cos', 'square', 'reciprocal', 'relu',
  'addScalar', 'mulScalar', 'powScalar',
];

/** `eq`/`gt` return 1 or 0 in the operands' dtype (used for max-backward masks). */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'eq' | 'gt';
export const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'eq', 'gt'];

export type ReduceOp = 'sum' | 'max';

export type RandomDistribution = 'uniform' | 'normal';

/**
 * One operand of a batched matmul: `batch` matrices of (rows, cols) starting at
 * `offset`, `batchStride` apart (0 broadcasts one matrix to every batch).
 * Each matrix is dense row-major, or column-major when `transposed` (then it is
 * stored as (cols, rows)), so transposes cost no copy.
 */
export interface MatmulOperand {
  readonly buffer: BackendBuffer;
  readonly offset: number;
  readonly batchStride: number;
  readonly transposed: boolean;
}

/** out (batch, m, n) = a (batch, m, k) @ b (batch, k, n). */
export interface MatmulDims {
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

export interface AdamWHyper {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** The 1-based step count, for bias correction. */
  readonly step: number;
}

/** How a backend stores f16: natively, packed two per u32 with f32 arithmetic, or not at all. */
export type F16Support = 'native' | 'packed' | 'emulated' | 'absent';

export interface BackendCapabilities {
  readonly dtypes: readonly DType[];
  readonly f16: F16Support;
  /** Largest single buffer in bytes. */
  readonly maxBufferBytes: number;
  /** Free-form facts worth printing (adapter, features, mode). */
  readonly features: readonly string[];
  /** Backend reads are asynchronous with real device latency (a GPU). */
  readonly asyncDevice: boolean;
  /**
   * 'immediate': gatherRows, scatterAddRows and crossEntropy(Backward) throw on
   * an index outside its range, as they run (cpu, wasm). 'deferred' or absent:
   * the kernels cannot throw (a GPU), so the tensor layer checks the indices
   * on the device and raises at the next readback (src/tensor/deferred-index-checks.ts).
   */
  readonly indexErrors?: 'immediate' | 'deferred';
}

export interface BackendMemoryStats {
  /** Bytes held from the device, including free blocks kept by a pool. */
  readonly reservedBytes: number;
  /** Bytes currently handed out to live buffers, as the pool rounds them. */
  readonly allocatedBytes: number;
}

/** The kernels every backend must implement. All outputs are dense and row-major. */
export interface CoreKernels {
  /** dst[dstLayout] = src[srcLayout] over `shape` (both strided; same dtype). */
  copy(shape: readonly number[], src: StridedInput, dst: BackendBuffer, dstLayout: StridedLayout): void;
  /** out = op(x) elementwise; x is read through its (broadcast) layout over `shape`. */
  unary(op: UnaryOp, shape: readonly number[], x: StridedInput, out: BackendBuffer, scalar: number): void;
  /** out = a op b; both read through layouts already broadcast to `shape`. */
  binary(op: BinaryOp, shape: readonly number[], a: StridedInput, b: StridedInput, out: BackendBuffer): void;
  /** out = reduce over `axis` of x viewed as `shape`; out has `shape` without that axis. */
  reduce(op: ReduceOp, shape: readonly number[], x: StridedInput, axis: number, out: BackendBuffer): void;
  /** Batched matmul; f16 accumulates in at least f32, f32 in at least f32, f64 in f64. */
  matmul(dims: MatmulDims, a: MatmulOperand, b: MatmulOperand, out: BackendBuffer): void;
  /** out = x converted to out.dtype (floats round to nearest even; to i32 truncates toward zero). */
  cast(shape: readonly number[], x: StridedInput, out: BackendBuffer): void;
  /** out (n, cols) = table[indices[i]] rows; indices are i32 and must lie in [0, rows). */
  gatherRows(table: BackendBuffer, rows: number, cols: number, indices: BackendBuffer, n: number, out: BackendBuffer): void;
  /** out[indices[i]] += src[i] rows, for i in [0, n); out (rows, cols) is read-modify-written. */
  scatterAddRows(src: BackendBuffer, indices: BackendBuffer, n: number, cols: number, out: BackendBuffer, rows: number): void;
  /** dst += src (same dtype, dense, numel elements); in place. */
  accumulate(dst: BackendBuffer, src: BackendBuffer, numel: number): void;
  /**
   * Fills out with variates of the Philox4x32-10 stream (seed, word offset).
   * uniform: element i uses word offset+i, mapped by uniformFromWord to (0,1), then lo + (hi-lo)*u.
   * normal: element i uses words offset+2i, offset+2i+1 (Box-Muller), then mean + std*z.
   */
  random(out: BackendBuffer, distribution: RandomDistribution, seed: number, offset: number, a: number, b: number): void;
}

/**
 * Fused kernels. A backend may leave any of them out; `withCompositeDefaults`
 * fills the gaps from the core kernels. All inputs and outputs are dense.
 */
export interface FusedKernels {
  /** out (rows, cols) = softmax or log-softmax of each row of x, computed in at least f32. */
  softmax(x: BackendBuffer, rows: number, cols: number, log: boolean, out: BackendBuffer): void;
  /** gx from the forward output y and upstream g (log: gx = g - exp(y)*sum(g); else gx = y*(g - sum(g*y))). */
  softmaxBackward(y: BackendBuffer, g: BackendBuffer, rows: number, cols: number, log: boolean, gx: BackendBuffer): void;
  /** y = x * rsqrt(mean(x^2) + eps) (rounded to x's dtype) * w; rstd (rows) is saved in f32 (f64 for f64). */
  rmsNorm(x: BackendBuffer, w: BackendBuffer, rows: number, cols: number, eps: number, y: BackendBuffer, rstd: BackendBuffer): void;
  /** gx and gw (cols; written, not accumulated) of rmsNorm. */
  rmsNormBackward(x: BackendBuffer, w: BackendBuffer, rstd: BackendBuffer, g: BackendBuffer, rows: number, cols: number, gx: BackendBuffer, gw: BackendBuffer): void;
  /**
   * Rotary embedding on x (batch, seq, heads, headDim) with adjacent pairs (2i, 2i+1)
   * rotated by angle table cos/sin (seq, headDim/2) (f32, or f64 with f64 x);
   * inverse rotates by -angle (the backward).
   */
  rotary(x: BackendBuffer, cos: BackendBuffer, sin: BackendBuffer, batch: number, seq: number, heads: number, headDim: number, inverse: boolean, out: BackendBuffer): void;
  /** out = silu(a) * b. */
  siluMul(a: BackendBuffer, b: BackendBuffer, numel: number, out: BackendBuffer): void;
  /** ga = g * b * silu'(a), gb = g * silu(a). */
  siluMulBackward(a: BackendBuffer, b: BackendBuffer, g: BackendBuffer, numel: number, ga: BackendBuffer, gb: BackendBuffer): void;
  /**
   * Per-row cross-entropy of logits (rows, cols) against i32 labels: loss[r] =
   * logsumexp(row) - row[label], 0 where label == ignoreIndex; lse[r] saved for backward.
   * loss and lse are f32 (f64 for f64 logits). Labels outside [0, cols) other than ignoreIndex give NaN.
   */
  crossEntropy(logits: BackendBuffer, labels: BackendBuffer, rows: number, cols: number, ignoreIndex: number, loss: BackendBuffer, lse: BackendBuffer): void;
  /** gLogits[r] = (softmax(row) - onehot(label)) * gRow[r], zero rows where label == ignoreIndex. */
  crossEntropyBackward(logits: BackendBuffer, lse: BackendBuffer, labels: BackendBuffer, gRow: BackendBuffer, rows: number, cols: number, ignoreIndex: number, gLogits: BackendBuffer): void;
  /** out (batch, rows, cols) = x where col <= row + (cols - rows), else `value` (causal attention mask). */
  causalMask(x: BackendBuffer, batch: number, rows: number, cols: number, value: number, out: BackendBuffer): void;
  /** out = x * keep / (1 - p), keep = uniform(word offset+i) >= p. Its own backward with the same key. */
  dropout(x: BackendBuffer, numel: number, p: number, seed: number, offset: number, out: BackendBuffer): void;
  /** In-place AdamW (PyTorch's decoupled weight decay) on param, m, v from grad. */
  adamw(param: BackendBuffer, grad: BackendBuffer, m: BackendBuffer, v: BackendBuffer, numel: number, hyper: AdamWHyper): void;
  /** grad *= invScale in place; foundInf[0] (f32) becomes 1 if any grad is inf or NaN, else is left as is. */
  unscaleGrads(grad: BackendBuffer, numel: number, invScale: number, foundInf: BackendBuffer): void;
}

/** What a composite (or any) kernel may use for scratch memory; the tensor layer ledgers it. */
export interface ScratchAllocator {
  alloc(dtype: DType, numel: number): BackendBuffer;
  free(buffer: BackendBuffer): void;
}

export interface BufferOps {
  alloc(dtype: DType, numel: number): BackendBuffer;
  free(buffer: BackendBuffer): void;
  /** Writes host data into the buffer starting at element `elementOffset`. */
  write(buffer: BackendBuffer, data: HostArray, elementOffset?: number): void;
  /** Reads `numel` elements from `elementOffset`; resolves after all earlier work. */
  read(buffer: BackendBuffer, elementOffset?: number, numel?: number): Promise<HostArray>;
  fill(buffer: BackendBuffer, value: number): void;
}

export interface Backend extends BufferOps, CoreKernels, Partial<FusedKernels> {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  memoryStats(): BackendMemoryStats;
  /** Waits until all enqueued work is done (used by benchmarks and readback). */
  sync(): Promise<void>;
  /** Releases device resources; the backend is unusable afterwards. */
  destroy(): void;
}

/** A backend with every fused kernel present (its own or the composite default). */
export type KernelSet = Backend & FusedKernels;

export function floatDTypesOf(caps: BackendCapabilities): FloatDType[] {
  return caps.dtypes.filter((d): d is FloatDType => d !== 'i32');
}
