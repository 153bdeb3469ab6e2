// The bytes a TransformerBlock leaves on the tape, measured by the memory
// ledger, equal the hand-derived formula (src/nn/activation-memory.ts) to the
// byte, over generated shapes, dtypes, GQA ratios, trainability and LoRA
// placements.

import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

beforeAll(() => {
  g.useBackend(new g.CpuBackend());
});

interface Case {
  batch: number;
  seq: number;
  kvHeads: number;
  rep: number;
  headDim: number;
  hidden: number;
  dtype: 'f64' | 'f32' | 'f16';
  inputRequiresGrad: boolean;
  baseTrainable: boolean;
  lora: { r: number; targets: g.ProjectionName[]; dropout: number } | null;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  batch: fc.integer({ min: 1, max: 3 }),
  seq: fc.integer({ min: 1, max: 6 }),
  kvHeads: fc.integer({ min: 1, max: 3 }),
  rep: fc.integer({ min: 1, max: 3 }),
  headDim: fc.constantFrom(2, 4),
  hidden: fc.integer({ min: 1, max: 20 }),
  dtype: fc.constantFrom('f64' as const, 'f32' as const, 'f16' as const),
  inputRequiresGrad: fc.boolean(),
  baseTrainable: fc.boolean(),
  lora: fc.option(fc.record({
    r: fc.integer({ min: 1, max: 3 }),
    targets: fc.subarray([...g.PROJECTIONS], { minLength: 1 }),
    dropout: fc.constantFrom(0, 0.1),
  }), { nil: null }),
});

function specOf(c: Case): g.BlockActivationSpec {
  const nHeads = c.kvHeads * c.rep;
  return {
    batch: c.batch, seq: c.seq, dim: nHeads * c.headDim, nHeads, nKvHeads: c.kvHeads, hiddenDim: c.hidden, dtype: c.dtype,
    inputRequiresGrad: c.inputRequiresGrad, baseTrainable: c.baseTrainable, lora: c.lora ?? undefined,
  };
}

function buildBlock(c: Case): { block: g.TransformerBlock; rope: g.RotaryEmbedding } {
  const spec = specOf(c);
  const rope = new g.RotaryEmbedding(c.headDim, 2 * c.seq, c.dtype);
  const block = new g.TransformerBlock(0, { dim: spec.dim, nHeads: spec.nHeads, nKvHeads: spec.nKvHeads, hiddenDim: c.hidden, normEps: 1e-5, dtype: c.dtype }, rope);
  if (c.lora) g.applyLora(block, { r: c.lora.r, alpha: 2 * c.lora.r, dropout: c.lora.dropout, targets: c.lora.targets });
  for (const [name, p] of block.namedParameters()) p.requiresGrad = name.includes('lora_') || c.baseTrainable;
  return { block, rope };
}

const savedNow = () => g.memoryReport().live.savedActivations;

/** Runs f on a fresh block input and returns the saved-activation bytes its graph holds. */
function measure(c: Case, f: (block: g.TransformerBlock, x: g.Tensor) => g.Tensor): number {
  const { block, rope } = buildBlock(c);
  const spec = specOf(c);
  const before = savedNow();
  const out = g.tidy(() => f(block, g.randn([c.batch, c.seq, spec.dim], { dtype: c.dtype, requiresGrad: c.inputRequiresGrad })));
  const bytes = savedNow() - before;
  out.dispose();
  // Dropping the output frees the whole graph: nothing may stay on the tape.
  expect(savedNow()).toBe(before);
  block.dispose();
  rope.dispose();
  return bytes;
}

describe('saved activations of a TransformerBlock, to the byte', () => {
  it('full block forward = blockSavedActivationBytes(...).totalBytes', () => {
    fc.assert(fc.property(caseArb, (c) => {
      const expected = g.blockSavedActivationBytes(specOf(c));
      expect(measure(c, (block, x) => block.forward(x))).toBe(expected.totalBytes);
    }), { numRuns: 60 });
  });

  it('attention half alone = attentionBytes (the two-segment split)', () => {
    fc.assert(fc.property(caseArb, (c) => {
      expect(measure(c, (block, x) => block.attentionHalf(x))).toBe(g.blockSavedActivationBytes(specOf(c)).attentionBytes);
    }), { numRuns: 30 });
  });

  it('full fine-tuning follows the closed form s*N*(6*dim + 2*kvDim + 3*hidden) + s*B*H*S^2 + 2*N*stat', () => {
    fc.assert(fc.property(caseArb, (c0) => {
      const c: Case = { ...c0, inputRequiresGrad: true, baseTrainable: true, lora: null };
      const spec = specOf(c);
      const closed = g.fullFinetuneBlockBytes(spec);
      expect(g.blockSavedActivationBytes(spec).totalBytes).toBe(closed);
      expect(measure(c, (block, x) => block.forward(x))).toBe(closed);
    }), { numRuns: 20 });
  });

  it('a worked example: LLaMA-2-7B block, batch 1, seq 512, f32, full fine-tuning', () => {
    // N = 512 tokens, dim 4096, 32 heads (no GQA), hidden 11008, s = 4, stat = 4.
    const spec = { batch: 1, seq: 512, dim: 4096, nHeads: 32, nKvHeads: 32, hiddenDim: 11008, dtype: 'f32' as const };
    // Per token 4 * (8 * 4096 + 3 * 11008) = 263,168 bytes -> 134,742,016; P = 4 * 32 * 512^2 = 33,554,432;
    // rstd rows 2 * 512 * 4 = 4,096. Total 168,300,544 bytes (160.5 MiB) per block, 5.39 GB for 32 blocks.
    const perToken = 4 * (6 * 4096 + 2 * 4096 + 3 * 11008); // x, xn, q, o, h, hn; k, v; a1, a3, g
    const expected = 512 * perToken + 4 * 32 * 512 * 512 + 2 * 512 * 4;
    expect(expected).toBe(168_300_544);
    expect(g.fullFinetuneBlockBytes(spec)).toBe(expected);
    expect(g.blockSavedActivationBytes({ ...spec, inputRequiresGrad: true, baseTrainable: true }).totalBytes).toBe(expected);
  });

  it("the seed's LoRA (wq, wv; dropout 0.05; base frozen) after layer 0: the terms by name", () => {
    const bytes = g.blockSavedActivationBytes({
      batch: 1, seq: 8, dim: 16, nHeads: 4, nKvHeads: 4, hiddenDim: 32, dtype: 'f32', inputRequiresGrad: true, baseTrainable: false,
      lora: { r: 2, targets: ['wq', 'wv'], dropout: 0.05 },
    });
    // Frozen wo and w1/w2/w3 keep no activation of theirs; the LoRA branches keep their dropped inputs and rank-r products.
    expect(bytes.attention.map((t) => t.tensor).sort()).toEqual([
      'attention_norm rstd', 'dropout(xn) of wq', 'dropout(xn) of wv', 'k after rotary', 'probabilities P', 'q after rotary', 'v',
      'wq lora rank-r product', 'wv lora rank-r product', 'x (attention_norm input)',
    ].sort());
    expect(bytes.feedForward.map((t) => t.tensor).sort()).toEqual(['a1 = w1(hn)', 'a3 = w3(hn)', 'ffn_norm rstd', 'h (ffn_norm input)'].sort());
  });
});
