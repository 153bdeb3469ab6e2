// An f16 rounding and decoding written independently of tensor/f16.ts, for
// the conformance path only. The kernels (the CPU's, and every backend's
// upload and readback) use tensor/f16.ts's bit manipulation; if the reference
// rounded with the same function, a bug there would pass unseen. This one
// works on magnitudes instead: find the binade, divide by the f16 spacing
// there (a power of two, so exact) and round the quotient half to even.

/** Halfway between the largest f16 (65504) and 65536: at and above it, rounding gives infinity. */
const F16_OVERFLOW = 65520;

/** x rounded to the nearest f16 value (ties to even), as a number; NaN and infinities pass through. */
export function referenceRoundToF16(x: number): number {
  if (Number.isNaN(x) || x === 0 || !Number.isFinite(x)) return x;
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  if (a >= F16_OVERFLOW) return sign * Infinity;
  let e = Math.floor(Math.log2(a));
  // log2 can land one off next to a power of two: settle 2^e <= a < 2^(e+1) exactly.
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  // 10 fraction bits in normal binades; below 2^-14 the spacing stays 2^-24 (subnormals).
  const spacing = 2 ** (Math.max(e, -14) - 10);
  const q = a / spacing;
  const whole = Math.floor(q);
  const rest = q - whole;
  const n = rest > 0.5 || (rest === 0.5 && whole % 2 === 1) ? whole + 1 : whole;
  return sign * n * spacing;
}

/** The number an f16 bit pattern encodes, from its fields. */
export function referenceF16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
