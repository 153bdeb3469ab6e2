// Meta's ModelArgs defaults, the FFN hidden-size rule, presets, and exact
// parameter counts computed from shapes (without allocating a parameter).

import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

describe('ModelArgs and parameter counts', () => {
  it("has Meta's defaults", () => {
    const a = g.modelArgs();
    expect(a).toMatchObject({ dim: 4096, nLayers: 32, nHeads: 32, vocabSize: 32000, multipleOf: 256, normEps: 1e-5, maxSeqLen: 2048 });
    expect(a.ffnDimMultiplier).toBeUndefined();
    expect(g.kvHeadsOf(a)).toBe(32); // n_kv_heads defaults to n_heads
  });

  it("follows Meta's hidden-size rule: int(2*4*dim/3), times the multiplier, rounded up to multiple_of", () => {
    expect(g.ffnHiddenDim(4096, 256)).toBe(11008); // 7B: int(32768/3*2)=10922 -> 11008
    expect(g.ffnHiddenDim(5120, 256)).toBe(13824); // 13B
    expect(g.ffnHiddenDim(8192, 4096, 1.3)).toBe(28672); // 70B: int(1.3*21845)=28398 -> 28672
    expect(g.ffnHiddenDim(288, 32)).toBe(768); // stories15M
    expect(g.hiddenDimOf(g.modelArgs({ dim: 16, nHeads: 4, hiddenDim: 40 }))).toBe(40); // an explicit size (llama2.c files) wins
  });

  it('counts LLaMA-2-7B exactly: 202,383,360 per layer, 6,738,415,616 in all', () => {
    const a = g.presetArgs('7b');
    const oneLayer = g.countParameters(g.presetArgs('7b', { layers: 1 })) - g.countParameters(g.presetArgs('7b', { layers: 0 }));
    expect(oneLayer).toBe(4 * 4096 * 4096 + 3 * 4096 * 11008 + 2 * 4096);
    expect(oneLayer).toBe(202_383_360);
    expect(g.countParameters(a)).toBe(6_738_415_616); // + two 32000x4096 matrices + the final norm
    expect(g.countParameters(g.presetArgs('7b', { layers: 8 }))).toBe(8 * 202_383_360 + 2 * 131_072_000 + 4096);
  });

  it('counts LLaMA-2-13B: 13,015,864,320', () => {
    expect(g.countParameters(g.presetArgs('13b'))).toBe(13_015_864_320);
  });

  it('stories15M: dim 288, 6 layers, 6 heads, vocab 32000, seq 256; 15.19M with the tied classifier, 24.41M untied', () => {
    const a = g.presetArgs('stories15M');
    expect(a).toMatchObject({ dim: 288, nLayers: 6, nHeads: 6, vocabSize: 32000, maxSeqLen: 256 });
    expect(g.hiddenDimOf(a)).toBe(768);
    const perLayer = 4 * 288 * 288 + 3 * 288 * 768 + 2 * 288;
    expect(g.countParameters(a)).toBe(2 * 32000 * 288 + 6 * perLayer + 288);
    expect(g.countParameters(a) - 32000 * 288).toBe(15_191_712);
  });

  it('the tiny preset has grouped-query attention and builds a model whose parameters match parameterShapes', () => {
    const a = g.presetArgs('tiny', { layers: 1, vocabSize: 50 });
    expect(g.kvHeadsOf(a)).toBeLessThan(a.nHeads);
    const model = new g.Transformer(a);
    const shapes = g.parameterShapes(a);
    expect(model.namedParameters().map(([n, p]) => [n, [...p.shape]])).toEqual([...shapes.entries()]);
    expect(model.parameterCounts().total).toBe(g.countParameters(a));
    model.dispose();
  });

  it('counting a 13B model allocates nothing', () => {
    const before = g.memoryReport().liveTotal;
    g.countParameters(g.presetArgs('13b'));
    g.parameterShapes(g.presetArgs('13b'));
    expect(g.memoryReport().liveTotal).toBe(before);
  });

  it('rejects inconsistent arguments with the reason', () => {
    expect(() => g.modelArgs({ dim: 30, nHeads: 4 })).toThrow(/dim 30 is not divisible by nHeads 4/);
    expect(() => g.modelArgs({ dim: 24, nHeads: 4, nKvHeads: 3 })).toThrow(/multiple of nKvHeads 3/);
    expect(() => g.modelArgs({ dim: 12, nHeads: 4 })).toThrow(/head dimension 3 must be even/);
    expect(() => g.presetArgs('70b' as g.PresetName)).toThrow(/unknown model preset '70b'/);
  });
});
