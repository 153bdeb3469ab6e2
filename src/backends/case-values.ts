// Deterministic input values for kernel test cases, drawn from the Philox
// stream so a failing case replays from its seed alone. Values are rounded to
// the buffer's dtype before the reference sees them, exactly as uploading does.

import type { DType, HostArray } from '../tensor/dtype.js';
import { allocHostArray } from '../tensor/dtype.js';
import { f16BitsToNumber, f64ToF16Bits, roundToF16 } from '../tensor/f16.js';
import { normalFromUniforms, philoxWords, uniformFromWord } from '../tensor/philox.js';
import type { BufferSpec, ValueDomain } from './kernel-spec.js';

function draw(domain: ValueDomain, words: Uint32Array, i: number): number {
  const u = uniformFromWord(words[2 * i]);
  const u2 = uniformFromWord(words[2 * i + 1]);
  if (typeof domain === 'object' && 'scaled' in domain) return domain.by * draw(domain.scaled, words, i);
  if (typeof domain === 'object') {
    // Mostly valid indices, with some ignored ones when an ignore value is given.
    if (domain.ignore !== undefined && u2 < 0.2) return domain.ignore;
    return Math.min(domain.indicesBelow - 1, Math.floor(u * domain.indicesBelow));
  }
  switch (domain) {
    case 'normal': return normalFromUniforms(u, u2);
    case 'logits': return 3 * normalFromUniforms(u, u2);
    case 'positive': return 0.1 + 3.9 * u;
    case 'nonzero': return (u2 < 0.5 ? -1 : 1) * (0.25 + 3.75 * u);
    case 'smallInt': return Math.floor(u * 5) - 2;
    case 'unit': return u;
    case 'probability': return u;
    case 'zero': return 0;
  }
}

export function roundValue(dtype: DType, v: number): number {
  switch (dtype) {
    case 'f64': return v;
    case 'f32': return Math.fround(v);
    case 'f16': return roundToF16(v);
    case 'i32': return Math.trunc(v) | 0;
  }
}

/** The f64 values of buffer `index` of a case, already rounded to its dtype. */
export function caseValues(seed: number, index: number, spec: BufferSpec): Float64Array {
  const words = new Uint32Array(2 * spec.numel);
  philoxWords(seed * 64 + index, 0, words);
  const values = new Float64Array(spec.numel);
  const domain = spec.domain ?? 'normal';
  for (let i = 0; i < spec.numel; i++) values[i] = roundValue(spec.dtype, draw(domain, words, i));
  return values;
}

export function toHostArray(dtype: DType, values: Float64Array): HostArray {
  const out = allocHostArray(dtype, values.length);
  if (dtype === 'f16') for (let i = 0; i < values.length; i++) out[i] = f64ToF16Bits(values[i]);
  else out.set(values as never);
  return out;
}

export function fromHostArray(dtype: DType, data: HostArray): Float64Array {
  const out = new Float64Array(data.length);
  if (dtype === 'f16') for (let i = 0; i < data.length; i++) out[i] = f16BitsToNumber(data[i]);
  else out.set(data as never);
  return out;
}


