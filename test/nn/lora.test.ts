// LoRA with loralib's semantics: the seed's defaults, init, scaling, dropout
// on the LoRA branch only, merge on eval / unmerge on train, freezing, and
// which parameters receive gradients.

import { beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

beforeAll(() => {
  g.useBackend(new g.CpuBackend());
});

const ARGS = g.modelArgs({ dim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 17, multipleOf: 16, maxSeqLen: 8 });
const tokens = () => g.tensor(Int32Array.from([1, 5, 2, 16, 0, 3, 3, 7]), [2, 4]);

/** Sets every lora_B to seeded N(0, std^2) values, so the adapters actually change the output. */
function randomizeB(model: g.Module, std = 0.5): void {
  for (const [name, p] of model.namedParameters()) {
    if (name.endsWith('lora_B')) g.tidy(() => model.loadStateDict(new Map([[name, g.randn([...p.shape], { dtype: p.dtype as 'f32' | 'f64', std })]]), { strict: false }));
  }
}

async function values(t: g.Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

describe('applyLora', () => {
  it("defaults to the seed's adapter: r 16, alpha 32 (scaling 2), dropout 0.05, on wq and wv, unmerged", () => {
    const model = new g.Transformer(ARGS);
    const adapted = g.applyLora(model);
    expect(adapted).toEqual(['layers.0.attention.wq', 'layers.0.attention.wv', 'layers.1.attention.wq', 'layers.1.attention.wv']);
    const wq = model.layers[0].attention.wq as g.LoRALinear;
    expect(wq).toBeInstanceOf(g.LoRALinear);
    expect([wq.r, wq.alpha, wq.scaling, wq.dropoutP, wq.mergeWeights]).toEqual([16, 32, 2, 0.05, false]);
    expect(model.getParameter('layers.0.attention.wq.lora_A').shape).toEqual([16, 32]);
    expect(model.getParameter('layers.0.attention.wv.lora_B').shape).toEqual([16, 16]); // (kv heads * head dim, r)
    // loralib freezes the wrapped weight; the rest keeps its requiresGrad until markOnlyLoraAsTrainable.
    expect(model.getParameter('layers.0.attention.wq.weight').requiresGrad).toBe(false);
    expect(model.getParameter('layers.0.attention.wk.weight').requiresGrad).toBe(true);
    model.dispose();
  });

  it('initializes B to zero and A uniformly in +-1/sqrt(in) (kaiming-uniform, a = sqrt(5))', async () => {
    g.manualSeed(3);
    const layer = new g.LoRALinear(new g.Linear(256, 8), { r: 16, alpha: 16, dropout: 0, mergeWeights: false });
    expect(new Set(await values(layer.lora_B))).toEqual(new Set([0]));
    const a = await values(layer.lora_A);
    const bound = 1 / 16;
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(bound);
    // 4096 draws of U(-b, b): mean 0 (sd b/sqrt(3*4096) = 0.009b) and variance b^2/3 (sd ~1.7% of it).
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const variance = a.reduce((s, v) => s + v * v, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.05 * bound);
    expect(Math.abs(variance / (bound * bound / 3) - 1)).toBeLessThan(0.1);
    layer.dispose();
  });

  it('a fresh adapter leaves the model unchanged (bitwise, B = 0), in train mode with dropout too', async () => {
    g.manualSeed(4);
    const model = new g.Transformer(ARGS);
    const t = tokens();
    const base = g.noGrad(() => g.tidy(() => model.forward(t)));
    g.applyLora(model, { dropout: 0.5 });
    const adapted = g.noGrad(() => g.tidy(() => model.forward(t)));
    expect(await values(adapted)).toEqual(await values(base));
    g.dispose([base, adapted, t]);
    model.dispose();
  });

  it('dropout acts on the LoRA branch only: train-mode outputs vary with the seed, the base path does not', async () => {
    g.manualSeed(5);
    const layer = new g.LoRALinear(new g.Linear(8, 6), { r: 2, alpha: 2, dropout: 0.5, mergeWeights: false });
    randomizeB(layer);
    const x = g.randn([4, 8]);
    const run = (seed: number) => { g.manualSeed(seed); return g.noGrad(() => g.tidy(() => layer.forward(x))); };
    const [a, b, c] = [run(1), run(2), run(1)];
    expect(await values(a)).not.toEqual(await values(b));
    expect(await values(a)).toEqual(await values(c));
    // What the dropout changed is exactly the LoRA term: y - x W^T is the same as ((dropout(x) A^T) B^T) * scaling.
    const check = g.noGrad(() => g.tidy(() => {
      g.manualSeed(1);
      const dropped = g.dropout(x, 0.5);
      return g.sub(a, g.add(g.linear(x, layer.weight), g.mul(g.linear(g.linear(dropped, layer.lora_A), layer.lora_B), layer.scaling)));
    }));
    expect(Math.max(...(await values(check)).map(Math.abs))).toBeLessThan(1e-6);
    g.dispose([a, b, c, x, check]);
    layer.dispose();
  });

  it('names what is wrong: unknown targets, adapting twice, a bad rank', () => {
    const model = new g.Transformer(ARGS);
    expect(() => g.applyLora(model, { targets: ['q_proj'] })).toThrow(/no Linear named 'q_proj' in Transformer \(Linear layers here: output, wq, wk, wv, wo, w1, w2, w3\)/);
    g.applyLora(model);
    expect(() => g.applyLora(model)).toThrow(/'layers.0.attention.wq' already has a LoRA adapter/);
    expect(() => g.applyLora(model, { r: 0, targets: ['wk'] })).toThrow(/rank r must be a positive integer, got 0/);
    model.dispose();
  });
});

describe('markOnlyLoraAsTrainable', () => {
  it('freezes every parameter without lora_ in its name, in the counts and the ledger', () => {
    const before = g.memoryReport().live;
    const model = new g.Transformer(ARGS);
    g.applyLora(model, { r: 4 });
    g.markOnlyLoraAsTrainable(model);
    const loraElements = 2 * (4 * 32 + 32 * 4 + 4 * 32 + 16 * 4);
    const { total, trainable, frozen } = model.parameterCounts();
    expect(trainable).toBe(loraElements);
    expect(frozen).toBe(total - loraElements);
    expect(g.memoryReport().live.parametersTrainable - before.parametersTrainable).toBe(4 * loraElements);
    expect(model.trainableParameters().every((p) => p.name?.startsWith('lora_'))).toBe(true);
    model.dispose();
  });

  it('only lora_ parameters receive gradients', () => {
    const model = new g.Transformer(ARGS);
    g.applyLora(model, { r: 4 });
    randomizeB(model);
    g.markOnlyLoraAsTrainable(model);
    const t = tokens();
    const loss = g.tidy(() => g.crossEntropy(model.forward(t), t)).keep();
    loss.backward();
    const withGrad = model.namedParameters().filter(([, p]) => p.grad).map(([n]) => n);
    expect(withGrad).toEqual(model.namedParameters().map(([n]) => n).filter((n) => n.includes('lora_')));
    expect(withGrad).toHaveLength(8);
    g.dispose([loss, t]);
    model.dispose();
  });

  class TwoLayers extends g.Module {
    readonly adapted: g.Linear;
    readonly plain: g.Linear;
    constructor() {
      super();
      this.adapted = this.registerModule('adapted', new g.Linear(3, 3, { bias: true }));
      this.plain = this.registerModule('plain', new g.Linear(3, 3, { bias: true }));
    }
  }

  it("bias modes: 'none' freezes all biases, 'all' keeps every bias, 'lora_only' those of LoRA layers", () => {
    const trainableNames = (bias: g.LoraBiasMode) => {
      const m = new TwoLayers();
      g.applyLora(m, { targets: ['adapted'], r: 1 });
      g.markOnlyLoraAsTrainable(m, bias);
      const names = m.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n);
      m.dispose();
      return names;
    };
    expect(trainableNames('none')).toEqual(['adapted.lora_A', 'adapted.lora_B']);
    expect(trainableNames('all')).toEqual(['adapted.bias', 'adapted.lora_A', 'adapted.lora_B', 'plain.bias']);
    expect(trainableNames('lora_only')).toEqual(['adapted.bias', 'adapted.lora_A', 'adapted.lora_B']);
  });

  it('loraStateDict holds just the adapter', () => {
    const model = new g.Transformer(ARGS);
    g.applyLora(model, { r: 2 });
    expect([...g.loraStateDict(model).keys()]).toEqual(model.namedParameters().map(([n]) => n).filter((n) => n.includes('lora_')));
    model.dispose();
  });
});

describe('merging (mergeWeights)', () => {
  it('merged and unmerged eval outputs agree (f64), and the merged forward is one matmul per adapted layer', async () => {
    g.manualSeed(6);
    const merged = new g.Transformer(ARGS, { dtype: 'f64' });
    g.applyLora(merged, { r: 4, alpha: 8, mergeWeights: true });
    randomizeB(merged);
    const unmerged = new g.Transformer(ARGS, { dtype: 'f64', init: 'zeros' });
    g.applyLora(unmerged, { r: 4, alpha: 8, mergeWeights: false });
    unmerged.loadStateDict(merged.stateDict());
    merged.eval();
    unmerged.eval();
    expect((merged.layers[0].attention.wq as g.LoRALinear).merged).toBe(true);
    const t = tokens();
    g.resetWork();
    const a = g.noGrad(() => g.tidy(() => merged.forward(t)));
    const mergedMatmuls = g.workReport().byPhase.forward.calls;
    g.resetWork();
    const b = g.noGrad(() => g.tidy(() => unmerged.forward(t)));
    expect(g.workReport().byPhase.forward.calls).toBeGreaterThan(mergedMatmuls);
    const [va, vb] = [await values(a), await values(b)];
    const scale = Math.max(...vb.map(Math.abs));
    expect(Math.max(...va.map((v, i) => Math.abs(v - vb[i])))).toBeLessThan(1e-12 * scale);
    // The merge really folded the adapter into W (outputs agree although the weights differ).
    const wq = 'layers.0.attention.wq.weight';
    expect(await values(merged.getParameter(wq))).not.toEqual(await values(unmerged.getParameter(wq)));
    g.dispose([a, b, t]);
    merged.dispose();
    unmerged.dispose();
  });

  for (const dtype of ['f64', 'f32'] as const) {
    it(`eval() merges once and train() unmerges: the weights round-trip to within rounding (${dtype})`, async () => {
      g.manualSeed(7);
      const layer = new g.LoRALinear(new g.Linear(16, 12, { dtype }), { r: 4, alpha: 32, dropout: 0.1, mergeWeights: true });
      randomizeB(layer, 1);
      const w0 = await values(layer.weight);
      const delta = await values(g.noGrad(() => g.tidy(() => g.mul(g.matmul(layer.lora_B, layer.lora_A), layer.scaling))));
      layer.eval();
      const wMerged = await values(layer.weight);
      layer.eval(); // a second eval() must not merge again
      expect(await values(layer.weight)).toEqual(wMerged);
      // Each element was rounded once: |W + delta - merged| <= ulp/2 of the result.
      const eps = dtype === 'f64' ? 2 ** -53 : 2 ** -24;
      wMerged.forEach((v, i) => expect(Math.abs(v - (w0[i] + delta[i]))).toBeLessThanOrEqual(eps * Math.abs(v) + 1e-300));
      layer.train();
      expect(layer.merged).toBe(false);
      // Two roundings (add, subtract): |W' - W| <= eps * (|W + delta| + |W'|).
      (await values(layer.weight)).forEach((v, i) => expect(Math.abs(v - w0[i])).toBeLessThanOrEqual(eps * (Math.abs(wMerged[i]) + Math.abs(v)) + 1e-300));
      layer.dispose();
    });
  }

  it('without mergeWeights eval() leaves the weight untouched (bitwise)', async () => {
    const layer = new g.LoRALinear(new g.Linear(8, 8), { r: 2, alpha: 4, dropout: 0, mergeWeights: false });
    randomizeB(layer);
    const w0 = await values(layer.weight);
    layer.eval();
    expect(await values(layer.weight)).toEqual(w0);
    layer.dispose();
  });
});
