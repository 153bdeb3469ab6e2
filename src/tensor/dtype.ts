// Element types. This leaf module imports nothing so every layer may use it.

/** f64 is CPU-only; f16 is IEEE binary16 stored as raw bit patterns (Uint16Array). */
export type DType = 'f64' | 'f32' | 'f16' | 'i32';
export type FloatDType = 'f64' | 'f32' | 'f16';

export const ALL_DTYPES: readonly DType[] = ['f64', 'f32', 'f16', 'i32'];
export const FLOAT_DTYPES: readonly FloatDType[] = ['f64', 'f32', 'f16'];

/** Host-side storage for each dtype: f16 values travel as their 16-bit patterns. */
export type HostArray = Float64Array | Float32Array | Uint16Array | Int32Array;

const BYTES: Record<DType, number> = { f64: 8, f32: 4, f16: 2, i32: 4 };

export function bytesPerElement(dtype: DType): number {
  return BYTES[dtype];
}

export function isFloatDType(dtype: DType): dtype is FloatDType {
  return dtype !== 'i32';
}

export function allocHostArray(dtype: DType, length: number): HostArray {
  switch (dtype) {
    case 'f64': return new Float64Array(length);
    case 'f32': return new Float32Array(length);
    case 'f16': return new Uint16Array(length);
    case 'i32': return new Int32Array(length);
  }
}

/** Checks that a host array has the layout the dtype expects. */
export function hostArrayMatches(dtype: DType, data: HostArray): boolean {
  switch (dtype) {
    case 'f64': return data instanceof Float64Array;
    case 'f32': return data instanceof Float32Array;
    case 'f16': return data instanceof Uint16Array;
    case 'i32': return data instanceof Int32Array;
  }
}

const FLOAT_RANK: Record<FloatDType, number> = { f16: 0, f32: 1, f64: 2 };

/** PyTorch-style promotion: floats promote to the widest; int with float gives the float. */
export function promoteDTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'i32') return b;
  if (b === 'i32') return a;
  return FLOAT_RANK[a as FloatDType] >= FLOAT_RANK[b as FloatDType] ? a : b;
}

/** Machine epsilon (spacing of 1.0) per float dtype. */
export function dtypeEpsilon(dtype: FloatDType): number {
  switch (dtype) {
    case 'f64': return 2 ** -52;
    case 'f32': return 2 ** -23;
    case 'f16': return 2 ** -10;
  }
}

export function assertDType(value: string): DType {
  if ((ALL_DTYPES as readonly string[]).includes(value)) return value as DType;
  throw new Error(`unknown dtype '${value}'; expected one of ${ALL_DTYPES.join(', ')}`);
}
