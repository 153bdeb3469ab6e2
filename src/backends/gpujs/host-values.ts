// gpu.js kernels read and write f32 only, so every dtype this backend offers is
// stored as f32 values:
//   f32  as is;
//   f16  as f32 values that are exactly f16 numbers (every kernel rounds its f16
//        outputs to nearest even, see kernel-source/f16-rounding.ts);
//   i32  as f32 values that are exact integers; a value f32 cannot hold exactly
//        (beyond +-2^24 and not a multiple of the spacing there) is refused on
//        the way in instead of being rounded silently.
// These functions convert between the host arrays of the backend contract and
// that f32 storage.

import type { DType, HostArray } from '../../tensor/dtype.js';
import { allocHostArray, hostArrayMatches } from '../../tensor/dtype.js';
import { decodeF16Array, encodeF16Array } from '../../tensor/f16.js';

export type StoredDType = Exclude<DType, 'f64'>;

/** The largest magnitude below which every integer is exact in f32. */
export const F32_EXACT_INTEGER_LIMIT = 2 ** 24;

export function assertStoredDType(dtype: DType, what: string): StoredDType {
  if (dtype === 'f64') {
    throw new Error(`gpujs backend: ${what} is f64, which this backend does not hold (f64 is CPU-only; gpu.js kernels compute in f32)`);
  }
  return dtype;
}

/** Host data of `dtype` as the f32 values the backend stores. */
export function toStoredValues(dtype: StoredDType, data: HostArray, what: string): Float32Array {
  if (!hostArrayMatches(dtype, data)) {
    throw new Error(`gpujs backend: ${what}: got a ${data.constructor.name} for a ${dtype} buffer`);
  }
  switch (dtype) {
    case 'f32':
      return Float32Array.from(data as Float32Array);
    case 'f16':
      return decodeF16Array(data as Uint16Array, new Float32Array(data.length)) as Float32Array;
    case 'i32': {
      const values = Float32Array.from(data as Int32Array);
      for (let i = 0; i < values.length; i++) {
        if (values[i] !== data[i]) throw i32RangeError(what, data[i], i);
      }
      return values;
    }
  }
}

/** Stored f32 values back as a host array of `dtype`. */
export function fromStoredValues(dtype: StoredDType, values: Float32Array): HostArray {
  switch (dtype) {
    case 'f32':
      return values;
    case 'f16':
      return encodeF16Array(values);
    case 'i32': {
      // ToInt32 semantics (NaN and infinities to 0, wrap modulo 2^32), as Int32Array stores do on the CPU backend.
      const out = allocHostArray('i32', values.length);
      out.set(values);
      return out;
    }
  }
}

/** The f32 value a fill of `dtype` stores, with the same rules as writes. */
export function storedFillValue(dtype: StoredDType, value: number, what: string): number {
  if (dtype !== 'i32') return value;
  const integer = value | 0; // what an Int32Array store of `value` holds
  if (Math.fround(integer) !== integer) throw i32RangeError(what, integer, 0);
  return integer;
}

function i32RangeError(what: string, value: number, index: number): RangeError {
  return new RangeError(
    `gpujs backend: ${what}: i32 value ${value} (element ${index}) cannot be stored exactly; gpu.js kernels hold i32 as f32, ` +
    `which is exact for integers within +-${F32_EXACT_INTEGER_LIMIT} (indices and labels)`,
  );
}
