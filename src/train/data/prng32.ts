// A tiny deterministic 32-bit PRNG for data order and the default data set.
//
// State: one uint32 `s`. Each draw: s = s + 0x9E3779B9 (mod 2^32), then the output is
// murmur3's fmix32 finaliser of s:
//   z = s; z ^= z >>> 16; z = z * 0x85EBCA6B; z ^= z >>> 13; z = z * 0xC2B2AE35; z ^= z >>> 16
// (multiplications mod 2^32). This is SplitMix's construction (Weyl sequence + bit mixer)
// on 32 bits; it is simple enough to re-implement anywhere from this comment.

const GOLDEN_GAMMA = 0x9e3779b9;

/** murmur3 fmix32: a bijective 32-bit mixer. */
export function fmix32(x: number): number {
  let z = x >>> 0;
  z ^= z >>> 16;
  z = Math.imul(z, 0x85ebca6b) >>> 0;
  z ^= z >>> 13;
  z = Math.imul(z, 0xc2b2ae35) >>> 0;
  z ^= z >>> 16;
  return z >>> 0;
}

export class Prng32 {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`Prng32: seed must be an integer, got ${seed}`);
    this.state = seed >>> 0;
  }

  /** Next uniform uint32. */
  nextUint32(): number {
    this.state = (this.state + GOLDEN_GAMMA) >>> 0;
    return fmix32(this.state);
  }

  /**
   * Integer in [0, n): floor(u * n / 2^32) with u a uint32. Exact in doubles for n < 2^21;
   * the bias is at most n / 2^32, irrelevant for data sets of this size.
   */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n >= 2 ** 21) throw new Error(`Prng32.nextInt: n must be an integer in [1, 2^21), got ${n}`);
    return Math.floor((this.nextUint32() * n) / 2 ** 32);
  }

  /** Uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Prng32.pick: empty array');
    return items[this.nextInt(items.length)] as T;
  }
}
