// autocast on the LLaMA model: which weight copies the tape keeps under LoRA
// (the seed's "mixed precision raised peak memory with LoRA"), what the f16
// frozen base removes, and checkpointing replaying the autocast state.

import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { autocast, autocastCacheSize } from '../../src/autograd/autocast.js';
import { storeFrozenWeightsInF16 } from '../../src/nn/frozen-half-precision.js';

const TOKENS = [1, 15043, 3186, 29991, 2, 7, 9, 11, 1, 450, 4996, 17354, 1701, 29916, 432, 17204];
const LABELS = [-100, -100, 3186, 29991, 2, 7, 9, 11, -100, -100, -100, 17354, 1701, 29916, 432, 17204];

function lossOf(model: g.Transformer): g.Tensor {
  const tokens = g.tensor(Int32Array.from(TOKENS), [2, 8]);
  const labels = g.tensor(Int32Array.from(LABELS), [2, 8]);
  return autocast('f16', () => g.tidy(() => {
    const logits = model.forward(tokens);
    return g.crossEntropy(g.slice(logits, 1, 0, -1), g.slice(labels, 1, 1), { ignoreIndex: -100 });
  }));
}

function loraModel(seed: number, dropout: number): g.Transformer {
  g.manualSeed(seed);
  const model = g.Transformer.fromPreset('tiny', { layers: 2 });
  g.applyLora(model, { r: 16, alpha: 32, dropout });
  g.markOnlyLoraAsTrainable(model);
  return model;
}

/** f16 elements of a parameter, from its shape. */
const numel = (model: g.Transformer, name: string) => model.getParameter(name).shape.reduce((a, b) => a * b, 1);

describe('autocast weight copies in LLaMA under LoRA', () => {
  it('keeps, until backward, an f16 copy of every frozen matrix whose input needs a gradient, plus the LoRA factors the tape saved', () => {
    const model = loraModel(11, 0.05);
    const before = g.memoryReport().live.autocastWeightCopies;
    const loss = lossOf(model);
    const copies = g.memoryReport().live.autocastWeightCopies - before;
    // Derivation (matmul saves its weight operand iff the other operand needs a gradient):
    // layer 0's attention input comes from the frozen embedding and norm, so it needs no
    // gradient: the wq/wk/wv base copies are not kept. Its attention output depends on the
    // LoRA factors, so wo's input, the FFN inputs and everything in layer 1 need gradients.
    // LoRA: B's input (dropout(x) A^T) always needs a gradient (A is trainable), so B's cached
    // copy is kept; A's copy is kept only where x needs a gradient (layer 1).
    const frozenKept = [
      'layers.0.attention.wo.weight', 'layers.0.feed_forward.w1.weight', 'layers.0.feed_forward.w2.weight', 'layers.0.feed_forward.w3.weight',
      'layers.1.attention.wq.weight', 'layers.1.attention.wk.weight', 'layers.1.attention.wv.weight', 'layers.1.attention.wo.weight',
      'layers.1.feed_forward.w1.weight', 'layers.1.feed_forward.w2.weight', 'layers.1.feed_forward.w3.weight', 'output.weight',
    ];
    const loraKept = [
      'layers.0.attention.wq.lora_B', 'layers.0.attention.wv.lora_B',
      'layers.1.attention.wq.lora_A', 'layers.1.attention.wq.lora_B', 'layers.1.attention.wv.lora_A', 'layers.1.attention.wv.lora_B',
    ];
    const expected = 2 * [...frozenKept, ...loraKept].reduce((s, n) => s + numel(model, n), 0);
    expect(copies).toBe(expected);
    expect(autocastCacheSize()).toBe(0);
    loss.backward();
    expect(g.memoryReport().live.autocastWeightCopies).toBe(before);
    for (const p of model.trainableParameters()) expect(p.grad?.dtype).toBe('f32');
    loss.dispose();
    model.dispose();
  });

  it('with the frozen base in f16 only the LoRA factors are copied, and frozen bytes halve for the matrices', () => {
    const model = loraModel(11, 0.05);
    const frozenBefore = g.memoryReport().live.parametersFrozen;
    const { converted, bytesBefore, bytesAfter } = storeFrozenWeightsInF16(model);
    // Every frozen matrix: the embedding, 7 projections per layer, the output; norms stay f32.
    expect(converted).toHaveLength(1 + 2 * 7 + 1);
    expect(converted).not.toContain('norm.weight');
    expect(bytesAfter * 2).toBe(bytesBefore);
    expect(g.memoryReport().live.parametersFrozen).toBe(frozenBefore - bytesBefore + bytesAfter);
    const before = g.memoryReport().live.autocastWeightCopies;
    const loss = lossOf(model);
    const loraKept = ['layers.0.attention.wq.lora_B', 'layers.0.attention.wv.lora_B',
      'layers.1.attention.wq.lora_A', 'layers.1.attention.wq.lora_B', 'layers.1.attention.wv.lora_A', 'layers.1.attention.wv.lora_B'];
    expect(g.memoryReport().live.autocastWeightCopies - before).toBe(2 * loraKept.reduce((s, n) => s + numel(model, n), 0));
    loss.backward();
    expect(g.memoryReport().live.autocastWeightCopies).toBe(before);
    loss.dispose();
    model.dispose();
  });
});

describe('checkpoint() replays the autocast state', () => {
  async function grads(mode: g.CheckpointingMode, lora: boolean): Promise<Map<string, Float32Array>> {
    g.manualSeed(5);
    const model = g.Transformer.fromPreset('tiny', { layers: 2 }, { checkpointing: mode });
    if (lora) { g.applyLora(model, { dropout: 0.1 }); g.markOnlyLoraAsTrainable(model); }
    // B starts at zero; give it values so gradients reach A too.
    if (lora) {
      g.tidy(() => {
        const values = new Map(model.namedParameters().filter(([n]) => n.endsWith('lora_B')).map(([n, p]) => [n, g.mul(g.randn(p.shape), 0.02)] as [string, g.Tensor]));
        model.loadStateDict(values, { strict: false });
      });
    }
    g.manualSeed(99); // same dropout stream in every mode
    const loss = lossOf(model);
    loss.backward();
    const out = new Map<string, Float32Array>();
    for (const [n, p] of model.namedParameters()) if (p.grad) out.set(n, (await p.grad.data()) as Float32Array);
    out.set('loss', Float32Array.of(await loss.item()));
    loss.dispose();
    model.dispose();
    return out;
  }

  for (const lora of [false, true]) {
    it(`gives bitwise-identical gradients with and without checkpointing (${lora ? 'LoRA with dropout' : 'full fine-tuning'})`, async () => {
      const plain = await grads('none', lora);
      for (const mode of ['block', 'two-segments'] as const) {
        const ck = await grads(mode, lora);
        expect([...ck.keys()]).toEqual([...plain.keys()]);
        // Byte comparison: vitest's deep equality is slow on million-element arrays.
        for (const [n, v] of plain) expect(Buffer.from(ck.get(n)!.buffer).equals(Buffer.from(v.buffer)), `${mode}: ${n}`).toBe(true);
      }
    });
  }
});
