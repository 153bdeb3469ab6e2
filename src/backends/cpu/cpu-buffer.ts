// CPU buffers are host typed arrays. Kernels read every dtype as numbers and
// compute in f64; f16 inputs are decoded (exactly) and f16 outputs are rounded
// to nearest even once per element on the way out.

import type { DType, HostArray } from '../../tensor/dtype.js';
import { allocHostArray } from '../../tensor/dtype.js';
import { decodeF16Array, f64ToF16Bits, roundToF16 } from '../../tensor/f16.js';
import type { BackendBuffer } from '../backend.js';

export class CpuBuffer implements BackendBuffer {
  readonly data: HostArray;
  freed = false;
  constructor(readonly dtype: DType, readonly numel: number) {
    this.data = allocHostArray(dtype, numel);
  }
}

export function asCpu(buffer: BackendBuffer, what: string): CpuBuffer {
  if (!(buffer instanceof CpuBuffer)) throw new Error(`cpu backend: ${what} is not a CPU buffer`);
  if (buffer.freed) throw new Error(`cpu backend: ${what} was freed`);
  return buffer;
}

export type NumericArray = Float64Array | Float32Array | Int32Array;

/** The buffer's elements as numbers (f16 decoded into a fresh Float32Array). */
export function readValues(buffer: BackendBuffer, what = 'input'): NumericArray {
  const b = asCpu(buffer, what);
  return b.dtype === 'f16' ? (decodeF16Array(b.data as Uint16Array) as Float32Array) : (b.data as NumericArray);
}

/**
 * A place to write results as numbers. For f32/f64/i32 it is the buffer itself
 * (typed-array stores round f64 to f32 to nearest even); for f16 it is an f64
 * staging array that `commit()` rounds into the buffer. Kernels that read the
 * output or write only part of it (strided copy, accumulate, AdamW) ask for
 * `preserve` so the staging array starts with the buffer's contents.
 */
export interface OutputSink {
  readonly values: NumericArray;
  commit(): void;
}

export function outputSink(buffer: BackendBuffer, what = 'output', mode: 'overwrite' | 'preserve' = 'overwrite'): OutputSink {
  const b = asCpu(buffer, what);
  if (b.dtype !== 'f16') return { values: b.data as NumericArray, commit: () => {} };
  const staging = new Float64Array(b.numel);
  if (mode === 'preserve') decodeF16Array(b.data as Uint16Array, staging);
  return {
    values: staging,
    commit: () => {
      const bits = b.data as Uint16Array;
      for (let i = 0; i < staging.length; i++) bits[i] = f64ToF16Bits(staging[i]);
    },
  };
}

/** Rounds a number the way storing it into a buffer of `dtype` would. */
export function roundForStore(dtype: DType, x: number): number {
  switch (dtype) {
    case 'f64': return x;
    case 'f32': return Math.fround(x);
    case 'i32': return x | 0;
    case 'f16': return roundToF16(x);
  }
}
