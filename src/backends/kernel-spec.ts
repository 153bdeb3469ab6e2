// The shape of one row in the kernel-spec table. A row says everything about a
// kernel that does not depend on the backend: its buffers, how to invoke it,
// its f64 reference, its tolerance per dtype, how much work it does, and how to
// generate test cases. The conformance suite, `gradlab doctor`'s self-check and
// the work counter all read the same rows.

import type * as fc from 'fast-check';
import type { DType, FloatDType } from '../tensor/dtype.js';
import type { BackendBuffer, KernelSet } from './backend.js';

export type BufferRole = 'in' | 'out' | 'inout';

export interface BufferSpec {
  readonly role: BufferRole;
  readonly dtype: DType;
  readonly numel: number;
  /** How test inputs for this buffer are drawn (see case-values.ts). */
  readonly domain?: ValueDomain;
}

export type BaseValueDomain = 'normal' | 'positive' | 'nonzero' | 'logits' | 'smallInt' | 'unit' | 'probability' | 'zero';

export type ValueDomain =
  | BaseValueDomain
  | { readonly indicesBelow: number; readonly ignore?: number }
  /** A base domain times a factor (e.g. second moments of 1e-16, where AdamW's eps decides the update). */
  | { readonly scaled: BaseValueDomain; readonly by: number };

export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

export interface Work {
  readonly flops: number;
  readonly bytes: number;
}

export interface KernelCase<D> {
  readonly dims: D;
  /** Seed for the input values (drawn per buffer by case-values.ts). */
  readonly valueSeed: number;
}

export interface KernelSpec<D = any> {
  readonly name: string;
  readonly kind: 'core' | 'fused';
  /** Dtypes the kernel is defined for (the `dtype` argument below). */
  readonly dtypes: readonly DType[];
  /** Every buffer the kernel touches, in invocation order. */
  buffers(dims: D, dtype: DType): BufferSpec[];
  /** Optional edits to the generated input values (inject inf/NaN, fix flags). */
  adjustInputs?(dims: D, values: Float64Array[]): void;
  invoke(kernels: KernelSet, dims: D, buffers: BackendBuffer[]): void;
  /**
   * The f64 reference. `values` holds the (dtype-rounded) contents of every 'in'
   * and 'inout' buffer, in buffer order, with 'out' buffers as empty arrays.
   * Returns the expected contents of every 'out' and 'inout' buffer in order,
   * and optionally a per-element magnitude for error bounds (e.g. sum |a||b|).
   */
  reference(dims: D, values: Float64Array[], dtype: DType): { outputs: Float64Array[]; magnitudes?: (Float64Array | undefined)[] };
  tolerance: Partial<Record<FloatDType | 'i32', Tolerance>>;
  work(dims: D, dtype: DType): Work;
  /** Generated test cases (dims plus a value seed) for one dtype. */
  cases(dtype: DType): fc.Arbitrary<KernelCase<D>>;
  /** Output buffers that are pure functions of the counter-based RNG must match bitwise. */
  readonly exact?: boolean;
}

export function defineKernel<D>(spec: KernelSpec<D>): KernelSpec<D> {
  return spec;
}
