// Element conversions between file encodings and gradlab's host arrays:
// bytes of one file dtype -> numbers in the layout of one tensor dtype, and back.
// All file data is little-endian; typed arrays use the host's byte order, so
// a big-endian host is refused up front rather than read wrongly.

import { endianness } from 'node:os';
import { allocHostArray, type DType, type HostArray } from '../../tensor/dtype.js';
import { decodeF16Array, f16BitsToNumber, f64ToF16Bits } from '../../tensor/f16.js';

/** The safetensors element types gradlab reads and writes. */
export const SAFETENSORS_DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32'] as const;
export type SafetensorsDType = (typeof SAFETENSORS_DTYPES)[number];

export const SAFETENSORS_BYTES: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };

/** The gradlab dtype a file dtype loads as by default (BF16 widens to f32, I64 narrows to i32). */
export const NATIVE_DTYPE: Record<SafetensorsDType, DType> = { F64: 'f64', F32: 'f32', F16: 'f16', BF16: 'f32', I64: 'i32', I32: 'i32' };

/** The file dtype a gradlab dtype is written as by default. */
export const FILE_DTYPE: Record<DType, SafetensorsDType> = { f64: 'F64', f32: 'F32', f16: 'F16', i32: 'I32' };

export function assertLittleEndianHost(): void {
  if (endianness() !== 'LE') throw new Error('gradlab weight files: this host is big-endian; only little-endian hosts are supported');
}

const isIntFile = (d: SafetensorsDType) => d === 'I64' || d === 'I32';
const isIntDType = (d: DType) => d === 'i32';

/** Can `from` (a file dtype) be loaded into a tensor of dtype `to`? Floats convert among floats, ints among ints. */
export function canConvert(from: SafetensorsDType, to: DType): boolean {
  return isIntFile(from) === isIntDType(to);
}

/**
 * Decodes `count` elements of file dtype `from` starting at bytes[0] into a
 * host array of tensor dtype `to`. `bytes` must be aligned to 8 (a fresh
 * buffer). `describe` names the tensor in errors (e.g. an I64 out of i32 range).
 */
export function decodeElements(bytes: Uint8Array, from: SafetensorsDType, count: number, to: DType, describe: () => string): HostArray {
  const ab = bytes.buffer;
  const at = bytes.byteOffset;
  const out = allocHostArray(to, count);
  switch (from) {
    case 'F64': return convertFloats(new Float64Array(ab, at, count), to, out);
    case 'F32': return convertFloats(new Float32Array(ab, at, count), to, out);
    case 'F16': {
      const bits = new Uint16Array(ab, at, count);
      if (to === 'f16') { (out as Uint16Array).set(bits); return out; }
      decodeF16Array(bits, out as Float32Array | Float64Array);
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of an f32: widening is exact.
      const bits = new Uint16Array(ab, at, count);
      const wide = new Uint32Array(count);
      for (let i = 0; i < count; i++) wide[i] = bits[i] << 16;
      return convertFloats(new Float32Array(wide.buffer), to, out);
    }
    case 'I32': (out as Int32Array).set(new Int32Array(ab, at, count)); return out;
    case 'I64': {
      const wide = new BigInt64Array(ab, at, count);
      const o = out as Int32Array;
      for (let i = 0; i < count; i++) {
        const v = wide[i];
        if (v > 2147483647n || v < -2147483648n) throw new Error(`${describe()}: I64 element ${i} = ${v} does not fit in i32`);
        o[i] = Number(v);
      }
      return out;
    }
  }
}

function convertFloats(src: Float64Array | Float32Array, to: DType, out: HostArray): HostArray {
  if (to === 'f16') { const bits = out as Uint16Array; for (let i = 0; i < src.length; i++) bits[i] = f64ToF16Bits(src[i]); }
  else (out as Float64Array | Float32Array).set(src);
  return out;
}

/** f32 -> bf16 bits, rounding to nearest even (NaN stays NaN), as torch's .to(torch.bfloat16). */
function bf16Bits(value: number, scratch: Float32Array, scratchBits: Uint32Array): number {
  scratch[0] = value;
  const bits = scratchBits[0];
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) return (bits >>> 16) | 0x0040; // quiet NaN
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** Encodes host values of tensor dtype `from` as little-endian bytes of file dtype `to`. */
export function encodeElements(values: HostArray, from: DType, to: SafetensorsDType): Uint8Array {
  const n = values.length;
  const numbers = (): ArrayLike<number> => (from === 'f16' ? Array.from(values as Uint16Array, f16BitsToNumber) : (values as ArrayLike<number>));
  const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (to) {
    case 'F64': return bytesOf(Float64Array.from(numbers()));
    case 'F32': return bytesOf(from === 'f32' ? (values as Float32Array) : Float32Array.from(numbers()));
    case 'F16': {
      if (from === 'f16') return bytesOf(values as Uint16Array);
      const src = numbers();
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f64ToF16Bits(src[i]);
      return bytesOf(out);
    }
    case 'BF16': {
      // Like torch: to f32 first (exact from f16; rounded from f64), then to nearest-even bf16.
      const src = numbers();
      const out = new Uint16Array(n);
      const scratch = new Float32Array(1);
      const scratchBits = new Uint32Array(scratch.buffer);
      for (let i = 0; i < n; i++) out[i] = bf16Bits(src[i], scratch, scratchBits);
      return bytesOf(out);
    }
    case 'I32': return bytesOf(values as Int32Array);
    case 'I64': return bytesOf(BigInt64Array.from(values as Int32Array, (v) => BigInt(v)));
  }
}

