// Runs the same kernel calls on the CPU reference backend and on a WebGPU
// backend from the same inputs, and compares every output within a stated
// tolerance. Used for layouts the spec table's generators do not reach
// (large strides, high ranks, misaligned offsets, big shapes).

import { expect } from 'vitest';
import type { Backend, BackendBuffer } from '../../../src/backends/backend.js';
import { CpuBackend } from '../../../src/backends/cpu/cpu-backend.js';
import { fromHostArray, toHostArray } from '../../../src/backends/case-values.js';
import type { DType } from '../../../src/tensor/dtype.js';
import { normalFromUniforms, philoxWords, uniformFromWord } from '../../../src/tensor/philox.js';
import { roundToF16 } from '../../../src/tensor/f16.js';

export interface BufferInit {
  readonly dtype: DType;
  /** Initial values (rounded to the dtype), or a length for a NaN-filled output. */
  readonly values: ArrayLike<number> | number;
}

export interface Tolerance { readonly rtol: number; readonly atol: number }

/** Deterministic normal values, rounded to `dtype`. */
export function normals(count: number, seed: number, dtype: DType = 'f32', scale = 1): number[] {
  const words = new Uint32Array(2 * count);
  philoxWords(seed, 0, words);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const v = scale * normalFromUniforms(uniformFromWord(words[2 * i]), uniformFromWord(words[2 * i + 1]));
    out.push(dtype === 'f16' ? roundToF16(v) : dtype === 'f32' ? Math.fround(v) : v);
  }
  return out;
}

async function runOn(backend: Backend, inits: readonly BufferInit[], invoke: (k: Backend, buffers: BackendBuffer[]) => void, outputs: readonly number[]): Promise<Float64Array[]> {
  const buffers = inits.map((init) => {
    const n = typeof init.values === 'number' ? init.values : init.values.length;
    const b = backend.alloc(init.dtype, n);
    if (typeof init.values === 'number') {
      if (n > 0) backend.fill(b, init.dtype === 'i32' ? -7 : NaN);
    } else if (n > 0) {
      backend.write(b, toHostArray(init.dtype, Float64Array.from(init.values)));
    }
    return b;
  });
  try {
    invoke(backend, buffers);
    const results: Float64Array[] = [];
    for (const i of outputs) results.push(fromHostArray(buffers[i].dtype, await backend.read(buffers[i])));
    return results;
  } finally {
    for (const b of buffers) backend.free(b);
  }
}

/** Runs `invoke` on the CPU reference and on `gpu`; returns both sets of outputs (buffers listed in `outputs`). */
export async function runOnBoth(gpu: Backend, inits: readonly BufferInit[], invoke: (k: Backend, buffers: BackendBuffer[]) => void, outputs: readonly number[]) {
  const cpu = new CpuBackend();
  return { expected: await runOn(cpu, inits, invoke, outputs), got: await runOn(gpu, inits, invoke, outputs) };
}

/** Every element within atol + rtol * |expected|; NaN must meet NaN and infinities must match exactly. */
export function expectClose(got: Float64Array, expected: Float64Array, tol: Tolerance, what: string): void {
  expect(got.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < got.length; i++) {
    const e = expected[i];
    const g = got[i];
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      if (!(Number.isNaN(e) ? Number.isNaN(g) : g === e)) expect.fail(`${what}: element ${i} is ${g}, expected ${e}`);
      continue;
    }
    const bound = tol.atol + tol.rtol * Math.abs(e);
    if (!(Math.abs(g - e) <= bound)) expect.fail(`${what}: element ${i} is ${g}, expected ${e} (|err| ${Math.abs(g - e)} > ${bound})`);
  }
}

/** Runs on both backends and compares every listed output. */
export async function expectSameAsCpu(
  gpu: Backend, inits: readonly BufferInit[], invoke: (k: Backend, buffers: BackendBuffer[]) => void, outputs: readonly number[], tol: Tolerance, what: string,
): Promise<void> {
  const { expected, got } = await runOnBoth(gpu, inits, invoke, outputs);
  outputs.forEach((_, j) => expectClose(got[j], expected[j], tol, `${what} (output buffer ${outputs[j]})`));
}
