// Runs kernel-spec cases on a backend and compares every output with the
// spec's f64 reference. Used by the conformance tests and `gradlab doctor`.

import * as fc from 'fast-check';
import type { DType, HostArray } from '../tensor/dtype.js';
import type { BackendBuffer, KernelSet } from './backend.js';
import { caseValues, fromHostArray, roundValue, toHostArray } from './case-values.js';
import { referenceF16BitsToNumber, referenceRoundToF16 } from './f16-reference.js';
import type { KernelCase, KernelSpec, Tolerance } from './kernel-spec.js';

export interface CaseOutcome {
  readonly ok: boolean;
  /** Largest |got - expected| / (atol + rtol * scale) over all outputs (<= 1 passes). */
  readonly worstRatio: number;
  readonly message: string;
}

/**
 * Sentinel written into output buffers first, so an element a kernel never writes fails.
 * The i32 sentinel is an integer f32 holds exactly (below 2^24), because the gpu.js backend
 * stores i32 as f32 and refuses values it cannot hold.
 */
const UNWRITTEN = { float: NaN, i32: -12345678 };

export async function runKernelCase<D>(kernels: KernelSet, spec: KernelSpec<D>, dtype: DType, kcase: KernelCase<D>): Promise<CaseOutcome> {
  const bufferSpecs = spec.buffers(kcase.dims, dtype);
  const values = bufferSpecs.map((b, i) => (b.role === 'out' ? new Float64Array(0) : caseValues(kcase.valueSeed, i, b)));
  if (spec.adjustInputs) {
    spec.adjustInputs(kcase.dims, values);
    bufferSpecs.forEach((b, i) => { if (b.role !== 'out') values[i] = values[i].map((v) => roundValue(b.dtype, v)); });
  }
  // f16 inputs are checked against the independent rounding, so the reference sees values an f16 can hold
  // even if tensor/f16.ts (which drew them) rounded wrongly.
  bufferSpecs.forEach((b, i) => {
    if (b.role === 'out' || b.dtype !== 'f16') return;
    const bad = values[i].findIndex((v) => !Object.is(referenceRoundToF16(v), v) && !Number.isNaN(v));
    if (bad >= 0) throw new Error(`conformance: input ${i} element ${bad} (${values[i][bad]}) is not an f16 value by the independent rounding (${referenceRoundToF16(values[i][bad])}); tensor/f16.ts rounds wrongly`);
  });
  const buffers: BackendBuffer[] = [];
  try {
    for (const [i, b] of bufferSpecs.entries()) {
      const buffer = kernels.alloc(b.dtype, b.numel);
      buffers.push(buffer);
      if (b.role === 'out') {
        if (b.numel > 0) kernels.fill(buffer, b.dtype === 'i32' ? UNWRITTEN.i32 : UNWRITTEN.float);
      } else if (b.numel > 0) {
        kernels.write(buffer, toHostArray(b.dtype, values[i]));
      }
    }
    spec.invoke(kernels, kcase.dims, buffers);
    const { outputs, magnitudes } = spec.reference(kcase.dims, values, dtype);
    const outIndices = bufferSpecs.flatMap((b, i) => (b.role === 'in' ? [] : [i]));
    const tol = spec.tolerance[dtype as keyof typeof spec.tolerance];
    if (!tol) throw new Error(`kernel ${spec.name}: no tolerance stated for ${dtype}`);
    let worstRatio = 0;
    for (const [j, bi] of outIndices.entries()) {
      const b = bufferSpecs[bi];
      const got = b.numel === 0 ? new Float64Array(0) : readBack(b.dtype, await kernels.read(buffers[bi]));
      const failure = compare(got, outputs[j], magnitudes?.[j], b.dtype, tol);
      worstRatio = Math.max(worstRatio, failure.worstRatio);
      if (failure.message) {
        return { ok: false, worstRatio, message: `${spec.name} [${dtype}] output ${j} (buffer ${bi}, ${b.dtype}): ${failure.message}; dims ${JSON.stringify(kcase.dims)}, valueSeed ${kcase.valueSeed}` };
      }
    }
    return { ok: true, worstRatio, message: '' };
  } finally {
    for (const b of buffers) kernels.free(b);
  }
}

/** Output elements as numbers; f16 bit patterns decoded by the independent decoder. */
function readBack(dtype: DType, data: HostArray): Float64Array {
  if (dtype !== 'f16') return fromHostArray(dtype, data);
  return Float64Array.from(data as Uint16Array, referenceF16BitsToNumber);
}

function compare(got: Float64Array, reference: Float64Array, magnitude: Float64Array | undefined, outDType: DType, tol: Tolerance) {
  if (got.length !== reference.length) return { worstRatio: Infinity, message: `expected ${reference.length} elements, got ${got.length}` };
  let worstRatio = 0;
  for (let i = 0; i < got.length; i++) {
    const expected = outDType === 'f16' ? referenceRoundToF16(reference[i]) : roundValue(outDType, reference[i]);
    const g = got[i];
    if (Number.isNaN(expected) || !Number.isFinite(expected)) {
      const same = Number.isNaN(expected) ? Number.isNaN(g) : g === expected;
      if (!same) return { worstRatio: Infinity, message: `element ${i}: got ${g}, expected ${expected}` };
      continue;
    }
    const scale = Math.max(Math.abs(expected), magnitude ? magnitude[i] : 0);
    const bound = tol.atol + tol.rtol * scale;
    const err = Math.abs(g - expected);
    if (!(err <= bound)) {
      return { worstRatio: Infinity, message: `element ${i}: got ${g}, expected ${expected} (|err| ${err.toExponential(3)} > bound ${bound.toExponential(3)} = atol ${tol.atol} + rtol ${tol.rtol} * ${scale.toExponential(3)})` };
    }
    worstRatio = Math.max(worstRatio, bound === 0 ? 0 : err / bound);
  }
  return { worstRatio, message: '' };
}

/** The cases one property run would draw, reproducibly from `seed`. */
export function sampleCases<D>(spec: KernelSpec<D>, dtype: DType, count: number, seed: number): KernelCase<D>[] {
  return fc.sample(spec.cases(dtype), { numRuns: count, seed });
}

/** Dtypes of a spec that a backend supports. */
export function specDTypesFor(spec: KernelSpec, supported: readonly DType[]): DType[] {
  return spec.dtypes.filter((d) => supported.includes(d));
}
