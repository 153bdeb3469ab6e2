// IEEE binary16 conversion: every one of the 65536 bit patterns, and rounding
// checked against exact rational arithmetic (BigInt), ties to even.

import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { f16BitsToNumber, f64ToF16Bits, roundToF16 } from '../../src/tensor/f16.js';

/** An independent f16 -> f32 decoder by bit manipulation (the library decodes arithmetically). */
function decodeViaF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  let exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  let bits: number;
  if (exp === 0x1f) bits = sign | 0x7f800000 | (mant << 13);
  else if (exp === 0) {
    if (mant === 0) bits = sign;
    else {
      // Normalize the subnormal: shift until the implicit bit appears.
      exp = 1;
      while ((mant & 0x400) === 0) { mant <<= 1; exp--; }
      mant &= 0x3ff;
      bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    }
  } else bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  return new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0];
}

/** Exact rational value of a finite double as [numerator, denominator] BigInts. */
function exactRational(x: number): [bigint, bigint] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const sign = hi >>> 31 ? -1n : 1n;
  const e = (hi >>> 20) & 0x7ff;
  const mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  const significand = e === 0 ? mant : mant | (1n << 52n);
  const exponent = (e === 0 ? 1 : e) - 1075;
  return exponent >= 0 ? [sign * (significand << BigInt(exponent)), 1n] : [sign * significand, 1n << BigInt(-exponent)];
}

/** |a/b - c/d| compared exactly: returns the sign of |p - q1| - |p - q2| for rationals. */
function compareDistance(p: [bigint, bigint], q1: [bigint, bigint], q2: [bigint, bigint]): number {
  const abs = (v: bigint) => (v < 0n ? -v : v);
  // |p - q| = |pn qd - qn pd| / (pd qd); compare cross-multiplied.
  const d1n = abs(p[0] * q1[1] - q1[0] * p[1]);
  const d1d = p[1] * q1[1];
  const d2n = abs(p[0] * q2[1] - q2[0] * p[1]);
  const d2d = p[1] * q2[1];
  const lhs = d1n * d2d;
  const rhs = d2n * d1d;
  return lhs < rhs ? -1 : lhs > rhs ? 1 : 0;
}

describe('f16 conversion', () => {
  it('decodes all 65536 patterns like an independent bit-level decoder, and re-encodes them', () => {
    for (let h = 0; h < 65536; h++) {
      const v = f16BitsToNumber(h);
      const ref = decodeViaF32Bits(h);
      if (Number.isNaN(ref)) {
        expect(Number.isNaN(v)).toBe(true);
        expect(f64ToF16Bits(v) & 0x7c00).toBe(0x7c00);
        expect(f64ToF16Bits(v) & 0x3ff).not.toBe(0);
        continue;
      }
      expect(Object.is(v, ref)).toBe(true);
      expect(f64ToF16Bits(v)).toBe(h);
    }
  });

  it('rounds every midpoint between neighbouring f16 values to the even one', () => {
    for (let h = 0; h < 0x7c00; h++) {
      const lo = f16BitsToNumber(h);
      const hi = f16BitsToNumber(h + 1);
      const mid = (lo + hi) / 2; // exact in f64
      const expected = (h & 1) === 0 ? h : h + 1;
      expect(f64ToF16Bits(mid)).toBe(expected);
      expect(f64ToF16Bits(-mid)).toBe(expected | 0x8000);
    }
  });

  it('overflows to infinity at and above 65520 (the midpoint past 65504)', () => {
    expect(f64ToF16Bits(65504)).toBe(0x7bff);
    expect(f64ToF16Bits(65519.99)).toBe(0x7bff);
    expect(f64ToF16Bits(65520)).toBe(0x7c00);
    expect(f64ToF16Bits(-1e10)).toBe(0xfc00);
    expect(f64ToF16Bits(Infinity)).toBe(0x7c00);
    expect(f64ToF16Bits(-0)).toBe(0x8000);
    expect(f64ToF16Bits(2 ** -25)).toBe(0); // exactly half the smallest subnormal: ties to even (0)
    expect(f64ToF16Bits(2 ** -25 * 1.0000001)).toBe(1);
  });

  it('picks the nearest f16 by exact rational arithmetic for arbitrary doubles', () => {
    const doubles = fc.oneof(
      fc.double({ min: -70000, max: 70000, noNaN: true }),
      fc.double({ min: -1e-3, max: 1e-3, noNaN: true }),
      fc.double({ min: -1e-7, max: 1e-7, noNaN: true }),
    );
    fc.assert(fc.property(doubles, (x) => {
      const bits = f64ToF16Bits(x);
      const got = f16BitsToNumber(bits);
      if (!Number.isFinite(got)) {
        expect(Math.abs(x)).toBeGreaterThanOrEqual(65520);
        return;
      }
      const p = exactRational(x);
      const g = exactRational(got);
      // Neighbours on both sides (same sign family); the result must be at least as close as each.
      for (const delta of [-1, 1]) {
        const nb = bits + delta;
        if ((nb & 0x7fff) >= 0x7c00 || nb < 0 || nb > 0xffff || ((nb ^ bits) & 0x8000)) continue;
        const cmp = compareDistance(p, g, exactRational(f16BitsToNumber(nb)));
        expect(cmp).toBeLessThanOrEqual(0);
        if (cmp === 0) expect(bits & 1).toBe(0); // a tie goes to the even mantissa
      }
    }), { numRuns: 20000 });
  });

  it('roundToF16 is idempotent and monotone', () => {
    fc.assert(fc.property(fc.double({ min: -65504, max: 65504, noNaN: true }), fc.double({ min: -65504, max: 65504, noNaN: true }), (a, b) => {
      expect(roundToF16(roundToF16(a))).toBe(roundToF16(a));
      if (a <= b) expect(roundToF16(a)).toBeLessThanOrEqual(roundToF16(b));
    }));
  });
});
