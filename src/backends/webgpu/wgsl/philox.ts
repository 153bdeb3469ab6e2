// Philox4x32-10 in WGSL, word for word the stream of src/tensor/philox.ts:
// word w of a stream comes from block floor(w/4) (the counter's low 64 bits),
// lane w % 4, keyed by the 64-bit seed. WGSL has no 64-bit integers, so the
// high half of each 32x32 product is built from 16-bit pieces, and word
// offsets travel as (lo, hi) pairs.

export const PHILOX = /* wgsl */ `
fn mul_hi_lo(a: u32, b: u32) -> vec2<u32> {
  let al = a & 0xffffu; let ah = a >> 16u;
  let bl = b & 0xffffu; let bh = b >> 16u;
  let ll = al * bl; let lh = al * bh; let hl = ah * bl; let hh = ah * bh;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return vec2<u32>(hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u), a * b);
}

fn philox4x32_10(counter: vec4<u32>, key0: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key0;
  for (var step_ = 0u; step_ < 10u; step_ = step_ + 1u) {
    let p0 = mul_hi_lo(0xd2511f53u, c.x);
    let p1 = mul_hi_lo(0xcd9e8d57u, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
  }
  return c;
}

// Word (offset + delta) of the stream keyed by seed; offset and delta are (lo, hi) pairs.
fn philox_word(seed: vec2<u32>, offset: vec2<u32>, delta: vec2<u32>) -> u32 {
  let lo = offset.x + delta.x;
  let hi = offset.y + delta.y + select(0u, 1u, lo < offset.x);
  let block = philox4x32_10(vec4<u32>((lo >> 2u) | (hi << 30u), hi >> 2u, 0u, 0u), seed);
  return block[lo & 3u];
}

// (2 * (w >> 9) + 1) * 2^-24: the odd numerator of uniformFromWord, exact in f32.
fn uniform_numerator(w: u32) -> u32 { return (w >> 9u) * 2u + 1u; }
fn uniform_from_word(w: u32) -> f32 { return f32(uniform_numerator(w)) * 5.9604644775390625e-8; }
`;

/** Splits a non-negative integer below 2^53 into (lo, hi) u32 halves. */
export function splitU64(v: number): { lo: number; hi: number } {
  if (!Number.isInteger(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) throw new Error(`expected an integer in [0, 2^53), got ${v}`);
  return { lo: v % 2 ** 32, hi: Math.floor(v / 2 ** 32) };
}
