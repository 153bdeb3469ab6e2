// Issue 11, item 15: the conformance path rounds f16 with its own function
// (src/backends/f16-reference.ts), independent of tensor/f16.ts which the
// kernels use. Both are checked here against hand-derived values, and
// against each other over many doubles.

import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceF16BitsToNumber, referenceRoundToF16 } from '../../src/backends/f16-reference.js';
import { f16BitsToNumber, f64ToF16Bits, roundToF16 } from '../../src/tensor/f16.js';

// [input, nearest f16] worked out by hand from binary16's layout (10 fraction bits, bias 15, subnormal step 2^-24).
const CASES: [number, number][] = [
  [1, 1],
  [1 + 2 ** -11, 1], // halfway between 1 and 1 + 2^-10: ties to the even (1)
  [1 + 3 * 2 ** -11, 1 + 2 ** -9], // halfway between 1 + 2^-10 (odd) and 1 + 2^-9: to even
  [1 + 2 ** -11 + 2 ** -30, 1 + 2 ** -10], // just above the tie
  [65504, 65504], // largest f16
  [65519.99, 65504],
  [65520, Infinity], // the tie between 65504 and 65536 goes to the even one, which overflows
  [-70000, -Infinity],
  [2 ** -24, 2 ** -24], // smallest subnormal
  [2 ** -25, 0], // tie between 0 and 2^-24: to even (0)
  [3 * 2 ** -26, 2 ** -24],
  [2 ** -14, 2 ** -14], // smallest normal
  [2 ** -14 - 2 ** -25, 2 ** -14], // tie between the largest subnormal (odd) and the smallest normal
  [0.1, 0.0999755859375],
  [-2.5, -2.5],
  [1 / 3, 0.333251953125],
];

describe('f16 rounding: the independent reference', () => {
  it.each(CASES)('%d -> %d', (x, expected) => {
    expect(referenceRoundToF16(x)).toBe(expected);
    expect(roundToF16(x)).toBe(expected); // tensor/f16.ts agrees with the hand-derived value too
  });

  it('keeps the sign of zero, and NaN', () => {
    expect(Object.is(referenceRoundToF16(-0), -0)).toBe(true);
    expect(Object.is(referenceRoundToF16(-(2 ** -26)), -0)).toBe(true);
    expect(referenceRoundToF16(NaN)).toBeNaN();
  });

  it('agrees with tensor/f16.ts on every double (random bit patterns and values near f16 ties)', () => {
    const fromBits = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })).map(([hi, lo]) => {
      const view = new DataView(new ArrayBuffer(8));
      view.setUint32(0, hi);
      view.setUint32(4, lo);
      return view.getFloat64(0);
    });
    // Values within a few f64 ulps of an f16 tie: (k + 1/2) * 2^(e-10) * (1 + small).
    const nearTies = fc.tuple(fc.integer({ min: 0, max: 2047 }), fc.integer({ min: -24, max: 5 }), fc.integer({ min: -3, max: 3 })).map(
      ([k, e, nudge]) => (k + 0.5) * 2 ** e * (1 + nudge * 2 ** -52),
    );
    fc.assert(fc.property(fc.oneof(fromBits, nearTies), (x) => {
      const a = referenceRoundToF16(x);
      const b = f16BitsToNumber(f64ToF16Bits(x));
      return Number.isNaN(x) ? Number.isNaN(a) && Number.isNaN(b) : Object.is(a, b);
    }), { numRuns: 20_000 });
  });

  it('decodes every f16 bit pattern like tensor/f16.ts, and re-rounding a decoded value is the identity', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = referenceF16BitsToNumber(bits);
      const w = f16BitsToNumber(bits);
      if (Number.isNaN(v)) { expect(w).toBeNaN(); continue; }
      if (!Object.is(v, w)) throw new Error(`bits 0x${bits.toString(16)}: reference ${v}, tensor/f16.ts ${w}`);
      if (!Object.is(referenceRoundToF16(v), v)) throw new Error(`bits 0x${bits.toString(16)}: ${v} is not fixed by the rounding`);
    }
  });
});
