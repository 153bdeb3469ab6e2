// Counter-based random fill: element i of a uniform fill uses stream word
// offset+i, a normal fill words offset+2i and offset+2i+1 (Box-Muller), the
// same words the CPU reference draws, so every backend fills identically.

import type { BackendBuffer, RandomDistribution } from '../../backend.js';
import type { KernelHost } from '../kernel-host.js';
import { f32, i32, u32 } from '../params.js';
import { grid1d } from '../program.js';
import { DENSE_WORKGROUP, denseInvocations, denseMapProgram } from '../wgsl/dense-map.js';
import { ACCURATE_MATH } from '../wgsl/accurate-math.js';
import { PHILOX, splitU64 } from '../wgsl/philox.js';
import { valueCodec, type Binding } from '../wgsl/storage.js';
import { requireDType } from '../validate.js';

const SEED_PARAMS = [u32('seedLo'), u32('seedHi'), u32('offLo'), u32('offHi')];

export function seedValues(seed: number, offset: number, op: string): Record<string, number> {
  let s: { lo: number; hi: number };
  let o: { lo: number; hi: number };
  try {
    s = splitU64(seed);
    o = splitU64(offset);
  } catch (cause) {
    throw new Error(`webgpu ${op}: seed ${seed} and offset ${offset} must be integers in [0, 2^53): ${(cause as Error).message}`);
  }
  return { seedLo: s.lo, seedHi: s.hi, offLo: o.lo, offHi: o.hi };
}

export function random(host: KernelHost, out: BackendBuffer, distribution: RandomDistribution, seed: number, offset: number, a: number, b: number): void {
  const name = `random.${distribution}`;
  requireDType(name, 'out', out, ['f32', 'f16']);
  if (distribution !== 'uniform' && distribution !== 'normal') throw new Error(`webgpu random: unknown distribution '${distribution}'`);
  const count = out.numel;
  if (count === 0) return;
  const codec = valueCodec(out.dtype, host.f16Mode);
  const outputs: Binding[] = [{ name: 'out', codec, access: 'readwrite' }];
  const seeds = seedValues(seed, offset, name);
  // Uniform bounds that are small integers are computed exactly in i32 and rounded once
  // (U(0,1) and U(-1,1) then match the CPU bit for bit); other bounds as mid + half * (2u - 1),
  // exact for symmetric bounds and two roundings otherwise.
  const exactInts = distribution === 'uniform' && Number.isInteger(a) && Number.isInteger(b) && Math.abs(a) + Math.abs(b - a) < 128;
  const variant = distribution === 'normal' ? 'normal' : exactInts ? 'uniform-int' : 'uniform-float';
  const key = `random:${variant}:${codec}`;
  let compute: string;
  let values: Record<string, number>;
  if (variant === 'normal') {
    compute = `  let seed = vec2<u32>(seedLo, seedHi);
  let off = vec2<u32>(offLo, offHi);
  let w1 = philox_word(seed, off, vec2<u32>(2u * e, e >> 31u));
  let w2 = philox_word(seed, off, vec2<u32>(2u * e + 1u, e >> 31u));
  let z = sqrt(-2.0 * log_accurate(uniform_from_word(w1))) * cos_2pi(uniform_from_word(w2));
  return mean + stdDev * z;`;
    values = { ...seeds, mean: a, stdDev: b };
  } else if (variant === 'uniform-int') {
    compute = `  let w = philox_word(vec2<u32>(seedLo, seedHi), vec2<u32>(offLo, offHi), vec2<u32>(e, 0u));
  let numerator = lo * 16777216 + width * i32(uniform_numerator(w));
  return f32(numerator) * 5.9604644775390625e-8;`;
    values = { ...seeds, lo: a, width: b - a };
  } else {
    compute = `  let w = philox_word(vec2<u32>(seedLo, seedHi), vec2<u32>(offLo, offHi), vec2<u32>(e, 0u));
  let centered = f32(i32(uniform_numerator(w)) - 8388608) * 1.1920928955078125e-7;
  return mid + halfWidth * centered;`;
    values = { ...seeds, mid: (a + b) / 2, halfWidth: (b - a) / 2 };
  }
  const params = variant === 'normal' ? [...SEED_PARAMS, f32('mean'), f32('stdDev')]
    : variant === 'uniform-int' ? [...SEED_PARAMS, i32('lo'), i32('width')]
      : [...SEED_PARAMS, f32('mid'), f32('halfWidth')];
  host.run(key, () => denseMapProgram({
    key, label: `${name}[${out.dtype}]`, outputs, inputs: [], params, value: 'f32',
    helpers: PHILOX + ACCURATE_MATH, compute,
  }), [out], { count, ...values }, grid1d(denseInvocations(count, outputs), DENSE_WORKGROUP, host.maxWorkgroupsPerDimension));
}
