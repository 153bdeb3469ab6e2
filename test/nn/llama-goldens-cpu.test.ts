// A tiny LLaMA-2 (GQA, LoRA on wq/wv) against PyTorch on the CPU backend:
// logits, loss and every parameter's gradient, in f64 and f32. Weights and
// inputs come in through gradlab's own safetensors loader.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { compareToGolden, GOLDEN_DIR, loadGoldenInputs, loadGoldenModel, runTrainingStep, type Mismatch } from './helpers/llama-golden.js';

for (const dtype of ['f64', 'f32'] as const) {
  describe(`LLaMA-2 + LoRA golden from PyTorch, CPU ${dtype}`, () => {
    let model: g.Transformer;
    let expected: Map<string, g.Tensor>;
    let logits: g.Tensor;
    let loss: g.Tensor;

    beforeAll(async () => {
      g.useBackend(new g.CpuBackend());
      model = await loadGoldenModel(dtype);
      expected = await g.loadSafetensors(`${GOLDEN_DIR}expected-${dtype}.safetensors`);
      const { tokens, labels } = await loadGoldenInputs();
      ({ logits, loss } = runTrainingStep(model, tokens, labels));
      g.dispose([tokens, labels]);
    });

    afterAll(() => {
      model.dispose();
      g.dispose([logits, loss, [...expected.values()]]);
    });

    it(`logits are ${dtype} and match`, async () => {
      expect(logits.dtype).toBe(dtype);
      expect(await compareToGolden('logits', logits, expected.get('logits')!, dtype)).toBeNull();
    });

    it('loss matches', async () => {
      expect(await compareToGolden('loss', loss, expected.get('loss')!, dtype)).toBeNull();
    });

    it('every parameter has a gradient, and all of them match', async () => {
      const named = model.namedParameters();
      const gradNames = [...expected.keys()].filter((k) => k.startsWith('grad.')).map((k) => k.slice(5));
      expect(named.map(([n]) => n).sort()).toEqual(gradNames.sort());
      const mismatches: Mismatch[] = [];
      for (const [name, p] of named) {
        expect(p.grad, `${name} has no gradient`).not.toBeNull();
        const m = await compareToGolden(name, p.grad!, expected.get(`grad.${name}`)!, dtype);
        if (m) mismatches.push(m);
      }
      expect(mismatches).toEqual([]);
    });
  });
}

describe('LLaMA-2 + LoRA golden, only LoRA trainable (the seed), CPU f64', () => {
  it('lora_ parameters get exactly the golden gradients and nothing else gets one', async () => {
    g.useBackend(new g.CpuBackend());
    const model = await loadGoldenModel('f64');
    g.markOnlyLoraAsTrainable(model);
    const expected = await g.loadSafetensors(`${GOLDEN_DIR}expected-f64.safetensors`);
    const { tokens, labels } = await loadGoldenInputs();
    const { logits, loss } = runTrainingStep(model, tokens, labels);
    const mismatches: Mismatch[] = [];
    for (const [name, p] of model.namedParameters()) {
      if (!name.includes('lora_')) {
        expect(p.grad, `${name} is frozen but got a gradient`).toBeNull();
        continue;
      }
      const m = await compareToGolden(name, p.grad!, expected.get(`grad.${name}`)!, 'f64');
      if (m) mismatches.push(m);
    }
    expect(mismatches).toEqual([]);
    expect(model.namedParameters().filter(([n]) => n.includes('lora_')).length).toBe(8);
    model.dispose();
    g.dispose([logits, loss, tokens, labels, [...expected.values()]]);
  });
});
