// Helper functions shared by the generated kernels, written in the subset of
// JavaScript that gpu.js translates to WGSL, WebAssembly and plain JS alike.
//
// Two gpu.js facts shape them:
// - Integer arithmetic stays i32 only inside expressions built from Integer
//   values (thread ids, Integer arguments, loop counters, Integer-returning
//   helpers). A local variable initialised from an integer expression is
//   declared f32, and `/` and `%` always compute in f32. Index math is
//   therefore written as nested helper calls, never through locals.
// - A return expression of type Number in an Integer helper is not converted
//   by gpu.js's WGSL backend, so such expressions are wrapped in `| 0`.
//
// - gpu.js's webasm backend types a `for` loop counter as f32 (its WGSL backend
//   makes it i32), so `base + p` rounds once the sum passes 2^24. Every index
//   that uses a loop counter reads it as `(p | 0)` (see loopIndex).
//
// `idiv` is exact floor division for 0 <= a < 2^30 (f32 estimate, then two
// exact i32 corrections), which is why buffers are limited to 2^30 elements.

import type { GpuJsFunctionDefinition } from '../gpujs-library.js';
import { PHILOX_UNIFORM_HELPER } from './philox.js';

interface HelperDefinition {
  readonly definition: GpuJsFunctionDefinition;
  readonly uses: readonly string[];
}

const I = 'Integer' as const;
const F = 'Float' as const;

/** The largest finite f32, used to tell finite values from inf and NaN without `x != x` (which drivers fold away). */
export const F32_MAX_LITERAL = '3.4028234e38';

const HELPERS: Record<string, HelperDefinition> = {
  idivStep: {
    definition: {
      source: 'function idivStep(a, b, q) { return q + (Math.floor((a - q * b) / b) | 0); }',
      settings: { argumentTypes: { a: I, b: I, q: I }, returnType: 'Integer' },
    },
    uses: [],
  },
  idivFix: {
    definition: {
      source: 'function idivFix(a, b, q) { if (a - q * b < 0) { return q - 1; } if (a - q * b >= b) { return q + 1; } return q; }',
      settings: { argumentTypes: { a: I, b: I, q: I }, returnType: 'Integer' },
    },
    uses: [],
  },
  idiv: {
    definition: {
      source: 'function idiv(a, b) { return idivFix(a, b, idivStep(a, b, Math.floor(a / b) | 0)); }',
      settings: { argumentTypes: { a: I, b: I }, returnType: 'Integer' },
    },
    uses: ['idivStep', 'idivFix'],
  },
  imod: {
    definition: {
      source: 'function imod(a, b) { return a - idiv(a, b) * b; }',
      settings: { argumentTypes: { a: I, b: I }, returnType: 'Integer' },
    },
    uses: ['idiv'],
  },
  /** Index along an axis of extent `size` whose inner axes hold `inner` elements. */
  axisIndex: {
    definition: {
      source: 'function axisIndex(i, inner, size) { return imod(idiv(i, inner), size); }',
      settings: { argumentTypes: { i: I, inner: I, size: I }, returnType: 'Integer' },
    },
    uses: ['idiv', 'imod'],
  },
  /** a clamped into [0, n - 1], so a load on a branch that is not taken stays in bounds. */
  iclamp: {
    definition: {
      source: 'function iclamp(a, n) { if (a < 0) { return 0; } if (a > n - 1) { return n - 1; } return a; }',
      settings: { argumentTypes: { a: I, n: I }, returnType: 'Integer' },
    },
    uses: [],
  },
  /**
   * Round to the nearest f16 value, ties to even, in exact f32 steps: scale by
   * powers of two until the value has 11 integer bits (fewer below f16's normal
   * range), round the fraction, scale back. inf and NaN pass through; `inf` is
   * a runtime +Infinity because gpu.js cannot spell infinity in WGSL.
   */
  roundF16: {
    definition: {
      source: `function roundF16(v, inf) {
  const m = Math.abs(v);
  if (!(m <= ${F32_MAX_LITERAL})) { return v; }
  if (m >= 65520) { if (v > 0) { return inf; } return -inf; }
  if (m === 0) { return v; }
  let t = m;
  let s = 1;
  for (let k = 0; k < 5; k++) { if (t >= 2048) { t = t * 0.5; s = s * 0.5; } }
  for (let k = 0; k < 24; k++) { if (t < 1024 && s < 16777216) { t = t * 2; s = s * 2; } }
  const f = Math.floor(t);
  const d = t - f;
  let r = f;
  if (d > 0.5) { r = f + 1; }
  if (d === 0.5 && f - Math.floor(f * 0.5) * 2 > 0.5) { r = f + 1; }
  if (v < 0) { return -(r / s); }
  return r / s;
}`,
      settings: { argumentTypes: { v: F, inf: F }, returnType: 'Number' },
    },
    uses: [],
  },
  /** Philox4x32-10's uniform variate of one stream word (see philox.ts). */
  philoxUniform: { definition: PHILOX_UNIFORM_HELPER, uses: [] },
};

export type HelperName = keyof typeof HELPERS;

/** The definitions of `names` and everything they call, callees first. */
export function helperDefinitions(names: Iterable<string>): GpuJsFunctionDefinition[] {
  const ordered: string[] = [];
  const visit = (name: string) => {
    if (ordered.includes(name)) return;
    const helper = HELPERS[name];
    if (!helper) throw new Error(`gpujs backend: internal error: unknown kernel helper '${name}'`);
    for (const dep of helper.uses) visit(dep);
    ordered.push(name);
  };
  for (const name of names) visit(name);
  return ordered.map((name) => HELPERS[name].definition);
}

/** Helper names a source text calls. */
export function helpersCalledIn(source: string): string[] {
  return Object.keys(HELPERS).filter((name) => new RegExp(`\\b${name}\\(`).test(source));
}

/** A loop counter as an i32 in index math (see the note at the top of this file). */
export function loopIndex(counter: string): string {
  return `(${counter} | 0)`;
}

/** A WGSL-safe "is NaN" test: NaN fails both comparisons with the largest f32. */
export function isNanExpression(v: string): string {
  return `(!(Math.abs(${v}) <= ${F32_MAX_LITERAL}) && !(Math.abs(${v}) > ${F32_MAX_LITERAL}))`;
}

/** A WGSL-safe "is inf or NaN" test. */
export function isNonFiniteExpression(v: string): string {
  return `!(Math.abs(${v}) <= ${F32_MAX_LITERAL})`;
}
