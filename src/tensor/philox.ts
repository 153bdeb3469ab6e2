// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11): a counter-based generator, so the i-th random word of a stream is a
// pure function of (seed, i) and every backend can draw the same numbers in
// parallel. Leaf module: imports nothing.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32 values, exactly. */
export function mulhi32(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const lh = al * bh;
  const hl = ah * bl;
  const hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** One Philox4x32-10 block: 4 output words for a 128-bit counter and 64-bit key. */
export function philox4x32(
  c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array,
): void {
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi32(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

const TWO_POW_32 = 4294967296;

/**
 * Fills `out` with words offset .. offset+out.length-1 of the stream for `seed`.
 * Word w comes from block floor(w/4) (the counter's low 64 bits) at lane w % 4;
 * seed (up to 2^53) is the key. Offsets are plain integers below 2^53.
 */
export function philoxWords(seed: number, offset: number, out: Uint32Array): void {
  const k0 = seed % TWO_POW_32 >>> 0;
  const k1 = Math.floor(seed / TWO_POW_32) >>> 0;
  const block = new Uint32Array(4);
  let cachedBlock = -1;
  for (let i = 0; i < out.length; i++) {
    const w = offset + i;
    const b = Math.floor(w / 4);
    if (b !== cachedBlock) {
      philox4x32(b % TWO_POW_32 >>> 0, Math.floor(b / TWO_POW_32) >>> 0, 0, 0, k0, k1, block);
      cachedBlock = b;
    }
    out[i] = block[w % 4];
  }
}

/**
 * The uniform variate of one random word: (2*(w >>> 9) + 1) * 2^-24, in (0, 1),
 * exactly representable in f32 so every backend gets the same value.
 */
export function uniformFromWord(word: number): number {
  return ((word >>> 9) * 2 + 1) * 5.960464477539063e-8;
}

/** Box-Muller from two uniforms (both in (0, 1), so the log is finite). */
export function normalFromUniforms(u1: number, u2: number): number {
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
