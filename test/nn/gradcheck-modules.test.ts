// Every LLaMA-2 module and LoRALinear against central finite differences in
// f64 on the CPU backend: gradients of the module's parameters and inputs.

import { beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { f64Input, moduleGradcheck, randomizeParameters } from './helpers/module-gradcheck.js';

beforeAll(() => {
  g.useBackend(new g.CpuBackend());
});

async function expectGradcheck(module: g.Module, run: () => g.Tensor, inputs: g.Tensor[]): Promise<void> {
  const result = await moduleGradcheck(module, run, inputs);
  expect(result.failures).toEqual([]);
  const expectedElements = module.parameters().filter((p) => p.requiresGrad).reduce((n, p) => n + p.numel, 0)
    + inputs.filter((t) => t.requiresGrad).reduce((n, t) => n + t.numel, 0);
  expect(result.checkedElements).toBe(expectedElements);
}

describe('gradcheck (f64) of the LLaMA-2 modules', () => {
  it('RMSNorm: input and weight', async () => {
    const norm = new g.RMSNorm(6, { eps: 1e-5, dtype: 'f64' });
    randomizeParameters(norm, 1);
    const x = f64Input([2, 3, 6], 11);
    await expectGradcheck(norm, () => norm.forward(x), [x]);
    norm.dispose();
    x.dispose();
  });

  it('rotary embedding with the model tables (adjacent pairs), through reshaped projections', async () => {
    const rope = new g.RotaryEmbedding(4, 16, 'f64');
    const x = f64Input([2, 5, 3, 4], 12);
    const { cos, sin } = rope.tablesFor(5);
    const result = await g.gradcheck((t) => g.rotary(t, cos, sin), [x]);
    expect(result.failures).toEqual([]);
    expect(result.checkedElements).toBe(x.numel);
    rope.dispose();
    x.dispose();
  });

  it('Attention with grouped-query heads (4 query heads on 2 kv heads), causal', async () => {
    const rope = new g.RotaryEmbedding(4, 16, 'f64');
    const attention = new g.Attention({ dim: 16, nHeads: 4, nKvHeads: 2, dtype: 'f64' }, rope);
    randomizeParameters(attention, 2);
    const x = f64Input([2, 4, 16], 13);
    await expectGradcheck(attention, () => attention.forward(x), [x]);
    attention.dispose();
    rope.dispose();
    x.dispose();
  });

  it('FeedForward (SwiGLU)', async () => {
    const ffn = new g.FeedForward({ dim: 8, hiddenDim: 12, dtype: 'f64' });
    randomizeParameters(ffn, 3);
    const x = f64Input([2, 3, 8], 14);
    await expectGradcheck(ffn, () => ffn.forward(x), [x]);
    ffn.dispose();
    x.dispose();
  });

  it('TransformerBlock (GQA)', async () => {
    const rope = new g.RotaryEmbedding(2, 16, 'f64');
    const block = new g.TransformerBlock(0, { dim: 8, nHeads: 4, nKvHeads: 2, hiddenDim: 16, normEps: 1e-5, dtype: 'f64' }, rope);
    randomizeParameters(block, 4);
    const x = f64Input([2, 3, 8], 15);
    await expectGradcheck(block, () => block.forward(x), [x]);
    block.dispose();
    rope.dispose();
    x.dispose();
  });

  it('LoRALinear in training mode with dropout on the LoRA branch (base weight trainable too)', async () => {
    g.manualSeed(5);
    const base = new g.Linear(6, 5, { dtype: 'f64' });
    const lora = new g.LoRALinear(base, { r: 2, alpha: 4, dropout: 0.3, mergeWeights: false });
    lora.weight.requiresGrad = true;
    randomizeParameters(lora, 6); // B != 0, or A's gradient would be identically zero
    const x = f64Input([3, 4, 6], 16);
    await expectGradcheck(lora, () => lora.forward(x), [x]);
    lora.dispose();
    x.dispose();
  });

  it('a whole Transformer with LoRA and two-segment checkpointing (dropout replayed in the recomputation)', async () => {
    g.manualSeed(6);
    const model = new g.Transformer(g.modelArgs({ dim: 8, nLayers: 1, nHeads: 2, nKvHeads: 1, vocabSize: 7, multipleOf: 4, maxSeqLen: 8 }), { dtype: 'f64', checkpointing: 'two-segments' });
    g.applyLora(model, { r: 2, alpha: 2, dropout: 0.25, targets: ['wq', 'wv', 'w2'] });
    randomizeParameters(model, 7);
    model.requiresGrad_(true);
    const tokens = g.tensor(Int32Array.from([1, 6, 0, 3, 3, 2]), [2, 3]).keep();
    await expectGradcheck(model, () => model.forward(tokens), []);
    model.dispose();
    tokens.dispose();
  });

  it('the checker itself catches a wrong gradient (half the weight path cut from the tape)', async () => {
    const lin = new g.Linear(3, 2, { dtype: 'f64' });
    randomizeParameters(lin, 8);
    const x = f64Input([4, 3], 17);
    const result = await moduleGradcheck(lin, () => g.add(lin.forward(x), g.linear(x, lin.weight.detach())), [x]);
    expect(result.failures.length).toBeGreaterThan(0);
    lin.dispose();
    x.dispose();
  });
});
