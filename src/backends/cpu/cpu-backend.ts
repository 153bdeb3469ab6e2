// The CPU reference backend: the oracle every other backend is tested against,
// so each kernel is the plainest correct loop. Every kernel computes in f64 and
// rounds each output once to the output dtype.

import type { DType, HostArray } from '../../tensor/dtype.js';
import { bytesPerElement, hostArrayMatches } from '../../tensor/dtype.js';
import { contiguousStrides } from '../../tensor/shape.js';
import { philoxWords, uniformFromWord, normalFromUniforms } from '../../tensor/philox.js';
import type {
  Backend, BackendBuffer, BackendCapabilities, BackendMemoryStats, BinaryOp, MatmulDims, MatmulOperand,
  RandomDistribution, ReduceOp, StridedInput, StridedLayout, UnaryOp,
} from '../backend.js';
import { binaryFn, unaryFn } from '../scalar-math.js';
import { asCpu, CpuBuffer, outputSink, readValues } from './cpu-buffer.js';
import { cpuMatmul } from './matmul.js';
import { cpuFusedKernels } from './fused.js';
import { forEachRow, innerStride } from './strided-loop.js';
import { indexOutOfRange } from '../index-errors.js';

const contiguousFrom = (shape: readonly number[]): StridedLayout => ({ offset: 0, strides: contiguousStrides(shape) });

/** Environment variable that lowers (or raises) the CPU backend's per-buffer limit, in bytes. */
export const CPU_MAX_BUFFER_ENV = 'GRADLAB_CPU_MAX_BUFFER_BYTES';

/** 2 GiB: V8 refuses typed arrays beyond this on many builds, and a larger tensor on the CPU is almost always a mistake. */
export const CPU_DEFAULT_MAX_BUFFER_BYTES = 2 ** 31;

export interface CpuBackendOptions {
  /** Largest single buffer in bytes (default: $GRADLAB_CPU_MAX_BUFFER_BYTES, else 2 GiB). */
  maxBufferBytes?: number;
}

function maxBufferFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[CPU_MAX_BUFFER_ENV];
  if (raw === undefined || raw === '') return CPU_DEFAULT_MAX_BUFFER_BYTES;
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`cpu backend: ${CPU_MAX_BUFFER_ENV}='${raw}' is not a positive integer number of bytes`);
  return n;
}

export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly capabilities: BackendCapabilities;
  private liveBytes = 0;

  constructor(options: CpuBackendOptions = {}) {
    const maxBufferBytes = options.maxBufferBytes ?? maxBufferFromEnv();
    if (!Number.isSafeInteger(maxBufferBytes) || maxBufferBytes <= 0) {
      throw new Error(`cpu backend: maxBufferBytes must be a positive integer, got ${maxBufferBytes}`);
    }
    this.capabilities = {
      dtypes: ['f64', 'f32', 'f16', 'i32'],
      f16: 'emulated',
      maxBufferBytes,
      features: ['reference', 'f16 computed in f64, rounded per output'],
      asyncDevice: false,
      indexErrors: 'immediate',
    };
  }

  // ---- buffers -------------------------------------------------------------

  alloc(dtype: DType, numel: number): BackendBuffer {
    if (!Number.isSafeInteger(numel) || numel < 0) throw new Error(`cpu alloc: numel must be a non-negative integer, got ${numel}`);
    const bytes = numel * bytesPerElement(dtype);
    // Checked before allocating: V8 would otherwise throw a bare RangeError or grow the process until the OS kills it.
    if (bytes > this.capabilities.maxBufferBytes) {
      throw new Error(
        `cpu alloc: ${numel} x ${dtype} (${bytes} bytes) exceeds the CPU backend's buffer limit of ${this.capabilities.maxBufferBytes} bytes ` +
        `(raise it with new CpuBackend({ maxBufferBytes }) or ${CPU_MAX_BUFFER_ENV})`,
      );
    }
    const buffer = new CpuBuffer(dtype, numel);
    this.liveBytes += buffer.data.byteLength;
    return buffer;
  }

  free(buffer: BackendBuffer): void {
    const b = asCpu(buffer, 'buffer to free');
    b.freed = true;
    this.liveBytes -= b.data.byteLength;
  }

  write(buffer: BackendBuffer, data: HostArray, elementOffset = 0): void {
    const b = asCpu(buffer, 'write target');
    if (!hostArrayMatches(b.dtype, data)) throw new Error(`cpu backend: write of ${data.constructor.name} into a ${b.dtype} buffer`);
    if (elementOffset + data.length > b.numel) throw new Error(`cpu backend: write of ${data.length} elements at ${elementOffset} overruns a buffer of ${b.numel}`);
    b.data.set(data as never, elementOffset);
  }

  async read(buffer: BackendBuffer, elementOffset = 0, numel?: number): Promise<HostArray> {
    const b = asCpu(buffer, 'read source');
    const count = numel ?? b.numel - elementOffset;
    return b.data.slice(elementOffset, elementOffset + count);
  }

  fill(buffer: BackendBuffer, value: number): void {
    const sink = outputSink(buffer, 'fill target');
    sink.values.fill(value);
    sink.commit();
  }

  memoryStats(): BackendMemoryStats {
    return { reservedBytes: this.liveBytes, allocatedBytes: this.liveBytes };
  }

  async sync(): Promise<void> {}
  destroy(): void {}

  // ---- core kernels --------------------------------------------------------

  copy(shape: readonly number[], src: StridedInput, dst: BackendBuffer, dstLayout: StridedLayout): void {
    const from = readValues(src.buffer, 'copy source');
    const sink = outputSink(dst, 'copy destination', 'preserve');
    const to = sink.values;
    const si = innerStride(src);
    const di = innerStride(dstLayout);
    forEachRow(shape, [src, dstLayout], ([s, d], len) => {
      for (let i = 0; i < len; i++) to[d + i * di] = from[s + i * si];
    });
    sink.commit();
  }

  unary(op: UnaryOp, shape: readonly number[], x: StridedInput, out: BackendBuffer, scalar: number): void {
    const fn = unaryFn(op, scalar);
    const from = readValues(x.buffer, `${op} input`);
    const sink = outputSink(out, `${op} output`);
    const to = sink.values;
    const xi = innerStride(x);
    forEachRow(shape, [x, contiguousFrom(shape)], ([s, d], len) => {
      for (let i = 0; i < len; i++) to[d + i] = fn(from[s + i * xi]);
    });
    sink.commit();
  }

  binary(op: BinaryOp, shape: readonly number[], a: StridedInput, b: StridedInput, out: BackendBuffer): void {
    const fn = binaryFn(op);
    const av = readValues(a.buffer, `${op} a`);
    const bv = readValues(b.buffer, `${op} b`);
    const sink = outputSink(out, `${op} output`);
    const to = sink.values;
    const ai = innerStride(a);
    const bi = innerStride(b);
    forEachRow(shape, [a, b, contiguousFrom(shape)], ([sa, sb, d], len) => {
      for (let i = 0; i < len; i++) to[d + i] = fn(av[sa + i * ai], bv[sb + i * bi]);
    });
    sink.commit();
  }

  reduce(op: ReduceOp, shape: readonly number[], x: StridedInput, axis: number, out: BackendBuffer): void {
    const from = readValues(x.buffer, `reduce-${op} input`);
    const sink = outputSink(out, `reduce-${op} output`);
    const to = sink.values;
    // Iterate the kept axes; walk the reduced axis per output element.
    const keptShape = shape.filter((_, i) => i !== axis);
    const keptStrides = x.strides.filter((_, i) => i !== axis);
    const axisLength = shape[axis];
    const axisStride = x.strides[axis];
    const outLayout = contiguousFrom(keptShape);
    const keptInner = keptShape.length === 0 ? 1 : keptStrides[keptStrides.length - 1];
    forEachRow(keptShape, [{ offset: x.offset, strides: keptStrides }, outLayout], ([s, d], len) => {
      for (let i = 0; i < len; i++) {
        const base = s + i * keptInner;
        let accumulated = op === 'sum' ? 0 : -Infinity;
        for (let r = 0; r < axisLength; r++) {
          const v = from[base + r * axisStride];
          if (op === 'sum') accumulated += v;
          else if (v > accumulated || Number.isNaN(v)) accumulated = Number.isNaN(accumulated) ? accumulated : v;
        }
        to[d + i] = accumulated;
      }
    });
    sink.commit();
  }

  matmul(dims: MatmulDims, a: MatmulOperand, b: MatmulOperand, out: BackendBuffer): void {
    cpuMatmul(dims, a, b, out);
  }

  cast(shape: readonly number[], x: StridedInput, out: BackendBuffer): void {
    const from = readValues(x.buffer, 'cast input');
    const sink = outputSink(out, 'cast output');
    const to = sink.values;
    const xi = innerStride(x);
    const toInt = out.dtype === 'i32';
    forEachRow(shape, [x, contiguousFrom(shape)], ([s, d], len) => {
      for (let i = 0; i < len; i++) {
        const v = from[s + i * xi];
        to[d + i] = toInt ? Math.trunc(v) : v;
      }
    });
    sink.commit();
  }

  gatherRows(table: BackendBuffer, rows: number, cols: number, indices: BackendBuffer, n: number, out: BackendBuffer): void {
    const t = readValues(table, 'gather table');
    const idx = asCpu(indices, 'gather indices').data as Int32Array;
    const sink = outputSink(out, 'gather output');
    for (let i = 0; i < n; i++) {
      const r = idx[i];
      if (r < 0 || r >= rows) throw new Error(indexOutOfRange('embedding', r, i, rows));
      for (let c = 0; c < cols; c++) sink.values[i * cols + c] = t[r * cols + c];
    }
    sink.commit();
  }

  scatterAddRows(src: BackendBuffer, indices: BackendBuffer, n: number, cols: number, out: BackendBuffer, rows: number): void {
    const s = readValues(src, 'scatter-add source');
    const idx = asCpu(indices, 'scatter-add indices').data as Int32Array;
    const sink = outputSink(out, 'scatter-add output', 'preserve');
    for (let i = 0; i < n; i++) {
      const r = idx[i];
      if (r < 0 || r >= rows) throw new Error(indexOutOfRange('embedding backward', r, i, rows));
      for (let c = 0; c < cols; c++) sink.values[r * cols + c] += s[i * cols + c];
    }
    sink.commit();
  }

  accumulate(dst: BackendBuffer, src: BackendBuffer, numel: number): void {
    const s = readValues(src, 'accumulate source');
    const sink = outputSink(dst, 'accumulate target', 'preserve');
    for (let i = 0; i < numel; i++) sink.values[i] += s[i];
    sink.commit();
  }

  random(out: BackendBuffer, distribution: RandomDistribution, seed: number, offset: number, a: number, b: number): void {
    const sink = outputSink(out, 'random output');
    const n = out.numel;
    const words = new Uint32Array(distribution === 'normal' ? 2 * n : n);
    philoxWords(seed, offset, words);
    for (let i = 0; i < n; i++) {
      sink.values[i] = distribution === 'uniform'
        ? a + (b - a) * uniformFromWord(words[i])
        : a + b * normalFromUniforms(uniformFromWord(words[2 * i]), uniformFromWord(words[2 * i + 1]));
    }
    sink.commit();
  }

  // ---- fused kernels (native loops) ----------------------------------------
  readonly softmax = cpuFusedKernels.softmax;
  readonly softmaxBackward = cpuFusedKernels.softmaxBackward;
  readonly rmsNorm = cpuFusedKernels.rmsNorm;
  readonly rmsNormBackward = cpuFusedKernels.rmsNormBackward;
  readonly rotary = cpuFusedKernels.rotary;
  readonly siluMul = cpuFusedKernels.siluMul;
  readonly siluMulBackward = cpuFusedKernels.siluMulBackward;
  readonly crossEntropy = cpuFusedKernels.crossEntropy;
  readonly crossEntropyBackward = cpuFusedKernels.crossEntropyBackward;
  readonly causalMask = cpuFusedKernels.causalMask;
  readonly dropout = cpuFusedKernels.dropout;
  readonly adamw = cpuFusedKernels.adamw;
  readonly unscaleGrads = cpuFusedKernels.unscaleGrads;
}
