// The counter-based generator: Philox4x32-10 against Random123's published
// known-answer vectors, stream determinism by (seed, offset), and
// distribution sanity with bounds that can fail.

import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { mulhi32, philox4x32, philoxWords, uniformFromWord } from '../../src/tensor/philox.js';
import { takeRandomWords } from '../../src/tensor/generator.js';

describe('Philox4x32-10', () => {
  // Known-answer vectors from Random123's tests/kat_vectors (D. E. Shaw Research), "philox4x32 10" lines.
  const KAT: [number[], number[], number[]][] = [
    [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
    [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
    [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
  ];
  it.each(KAT)('matches the Random123 known-answer vector %#', (ctr, key, expected) => {
    const out = new Uint32Array(4);
    philox4x32(ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1], out);
    expect([...out]).toEqual(expected);
  });

  it('mulhi32 equals the BigInt high word', () => {
    fc.assert(fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (a, b) => {
      expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
    }), { numRuns: 5000 });
  });

  it('the stream depends only on (seed, offset): any window equals the same words of a longer draw', () => {
    fc.assert(fc.property(fc.nat({ max: 2 ** 40 }), fc.nat({ max: 1000 }), fc.nat({ max: 64 }), fc.nat({ max: 40 }), (seed, offset, skip, len) => {
      const long = new Uint32Array(skip + len);
      philoxWords(seed, offset, long);
      const window = new Uint32Array(len);
      philoxWords(seed, offset + skip, window);
      expect([...window]).toEqual([...long.subarray(skip)]);
    }));
  });

  it('different seeds give different streams', () => {
    const a = new Uint32Array(8);
    const b = new Uint32Array(8);
    philoxWords(1, 0, a);
    philoxWords(2, 0, b);
    expect([...a]).not.toEqual([...b]);
  });

  it('uniform variates lie in (0, 1) and are exact in f32', () => {
    for (const w of [0, 1, 511, 512, 0xffffffff, 0x80000000]) {
      const u = uniformFromWord(w);
      expect(u).toBeGreaterThan(0);
      expect(u).toBeLessThan(1);
      expect(Math.fround(u)).toBe(u);
    }
  });
});

describe('random tensors', () => {
  // With n draws, a mean is off by more than 5 standard errors with probability < 1e-6.
  const n = 200_000;
  it('uniform: mean 1/2 and variance 1/12 within 5 standard errors', async () => {
    g.manualSeed(7);
    const u = Array.from(await g.rand([n], { dtype: 'f64' }).data());
    const mean = u.reduce((a, b) => a + b, 0) / n;
    const variance = u.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    // Var of the sample variance of U(0,1) is (1/80 - 1/144)/n.
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt((1 / 80 - 1 / 144) / n));
    expect(u.every((v) => v > 0 && v < 1)).toBe(true);
  });

  it('normal: mean 0, variance 1, and tail mass within bounds', async () => {
    g.manualSeed(11);
    const z = Array.from(await g.randn([n], { dtype: 'f64' }).data());
    const mean = z.reduce((a, b) => a + b, 0) / n;
    const variance = z.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    // P(|z| > 2) = 0.0455; its count is binomial.
    const tail = z.filter((v) => Math.abs(v) > 2).length / n;
    expect(Math.abs(tail - 0.0455)).toBeLessThan(5 * Math.sqrt((0.0455 * 0.9545) / n));
  });

  it('manualSeed replays the same tensors; successive draws differ', async () => {
    g.manualSeed(3);
    const a = await g.randn([5]).data();
    const b = await g.randn([5]).data();
    g.manualSeed(3);
    const a2 = await g.randn([5]).data();
    expect([...a2]).toEqual([...a]);
    expect([...b]).not.toEqual([...a]);
  });

  it('each draw advances the offset by whole Philox blocks', () => {
    g.manualSeed(5);
    expect(takeRandomWords(3)).toEqual({ seed: 5, offset: 0 });
    expect(takeRandomWords(9)).toEqual({ seed: 5, offset: 4 });
    expect(g.getGeneratorState()).toEqual({ seed: 5, offset: 16 });
  });
});
