// IEEE 754 binary16 <-> binary64/binary32 conversion with round-to-nearest-even,
// subnormals, infinities and NaN. Node 20 has no Float16Array, so f16 values
// live as their 16-bit patterns in Uint16Array. Leaf module: imports nothing.

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer); // little-endian: [lo, hi]

/** Rounds a non-negative double that is exact in f64 to the nearest integer, ties to even. */
function roundHalfEvenNonNegative(v: number): number {
  const floor = Math.floor(v);
  const frac = v - floor; // exact: v and floor share the exponent range
  if (frac > 0.5) return floor + 1;
  if (frac < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The f16 bit pattern nearest to x (ties to even). NaN maps to a quiet NaN with x's sign bit. */
export function f64ToF16Bits(x: number): number {
  scratch[0] = x;
  const hi = scratchWords[1];
  const lo = scratchWords[0];
  const sign = (hi >>> 16) & 0x8000;
  const biasedExp = (hi >>> 20) & 0x7ff;
  if (biasedExp === 0x7ff) {
    const isNaN = (hi & 0xfffff) !== 0 || lo !== 0;
    return sign | (isNaN ? 0x7e00 : 0x7c00);
  }
  const exp = biasedExp - 1023;
  if (exp >= 16) return sign | 0x7c00; // |x| >= 65536 overflows
  if (exp < -14) {
    // f16 subnormal range (or zero): the result is round(|x| * 2^24) units of 2^-24,
    // and scaling by a power of two is exact in f64. 1024 units is the smallest normal.
    return sign | roundHalfEvenNonNegative(Math.abs(x) * 16777216);
  }
  // Normal: keep the top 10 of f64's 52 mantissa bits; hi holds the top 20 of them.
  let mantissa = (hi >>> 10) & 0x3ff;
  const roundBit = (hi >>> 9) & 1;
  const sticky = (hi & 0x1ff) | lo;
  if (roundBit === 1 && (sticky !== 0 || (mantissa & 1) === 1)) mantissa += 1;
  // A mantissa carry (1024) rolls into the exponent, and from exponent 15 into infinity.
  return sign | (((exp + 15) << 10) + mantissa);
}

const F16_TO_F32 = buildF16Table();

function buildF16Table(): Float32Array {
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) table[bits] = decodeF16(bits);
  return table;
}

/** Exact value of an f16 bit pattern. */
function decodeF16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exp === 0) return sign * mantissa * 2 ** -24;
  if (exp === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exp - 15);
}

/** Exact value of an f16 bit pattern (every f16 is exact in f32 and f64). */
export function f16BitsToNumber(bits: number): number {
  return F16_TO_F32[bits & 0xffff];
}

/** Rounds x to the nearest f16 and returns it as a number. */
export function roundToF16(x: number): number {
  return F16_TO_F32[f64ToF16Bits(x)];
}

export function encodeF16Array(values: ArrayLike<number>, out = new Uint16Array(values.length)): Uint16Array {
  for (let i = 0; i < values.length; i++) out[i] = f64ToF16Bits(values[i]);
  return out;
}

export function decodeF16Array(bits: Uint16Array, out: Float32Array | Float64Array = new Float32Array(bits.length)): Float32Array | Float64Array {
  for (let i = 0; i < bits.length; i++) out[i] = F16_TO_F32[bits[i]];
  return out;
}

export const F16_MAX = 65504;
export const F16_MIN_NORMAL = 2 ** -14;
export const F16_MIN_SUBNORMAL = 2 ** -24;
