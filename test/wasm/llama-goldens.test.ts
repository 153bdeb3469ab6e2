// The PyTorch golden (tiny LLaMA-2, GQA, LoRA on wq/wv) on the wasm backend in
// f32: logits, loss and every gradient, with one thread and with two threads
// splitting every kernel; the two runs must agree bit for bit.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { compareToGolden, GOLDEN_DIR, loadGoldenInputs, loadGoldenModel, runTrainingStep, type Mismatch } from '../nn/helpers/llama-golden.js';
import { openWasm } from './wasm-fixture.js';

interface Outcome { logits: Float32Array; loss: Float32Array; grads: Map<string, Float32Array> }
const outcomes: Outcome[] = [];

for (const threads of [1, 2]) {
  describe(`LLaMA-2 + LoRA golden from PyTorch, wasm f32, ${threads} thread${threads > 1 ? 's (every kernel split)' : ''}`, () => {
    let backend: g.Backend;
    let model: g.Transformer;
    let expected: Map<string, g.Tensor>;
    let logits: g.Tensor;
    let loss: g.Tensor;

    beforeAll(async () => {
      backend = await openWasm(threads, threads > 1);
      g.useBackend(backend);
      model = await loadGoldenModel('f32');
      expected = await g.loadSafetensors(`${GOLDEN_DIR}expected-f32.safetensors`);
      const { tokens, labels } = await loadGoldenInputs();
      ({ logits, loss } = runTrainingStep(model, tokens, labels));
      g.dispose([tokens, labels]);
    });

    afterAll(() => {
      model?.dispose();
      g.dispose([logits, loss, [...(expected?.values() ?? [])]]);
    });

    it('runs on the wasm backend', () => {
      expect(logits.context.backend).toBe(backend);
      expect(logits.dtype).toBe('f32');
    });

    it('logits and loss match', async () => {
      expect(await compareToGolden('logits', logits, expected.get('logits')!, 'f32')).toBeNull();
      expect(await compareToGolden('loss', loss, expected.get('loss')!, 'f32')).toBeNull();
    });

    it('every parameter gradient matches', async () => {
      const mismatches: Mismatch[] = [];
      const grads = new Map<string, Float32Array>();
      for (const [name, p] of model.namedParameters()) {
        expect(p.grad, `${name} has no gradient`).not.toBeNull();
        const m = await compareToGolden(name, p.grad!, expected.get(`grad.${name}`)!, 'f32');
        if (m) mismatches.push(m);
        grads.set(name, (await p.grad!.data()) as Float32Array);
      }
      expect(mismatches).toEqual([]);
      outcomes.push({ logits: (await logits.data()) as Float32Array, loss: (await loss.data()) as Float32Array, grads });
    });
  });
}

describe('thread counts', () => {
  it('1 and 2 threads give bitwise-identical logits, loss and gradients', () => {
    expect(outcomes.length).toBe(2);
    const [one, two] = outcomes;
    expect(Buffer.from(two.logits.buffer).equals(Buffer.from(one.logits.buffer))).toBe(true);
    expect(Buffer.from(two.loss.buffer).equals(Buffer.from(one.loss.buffer))).toBe(true);
    expect([...two.grads.keys()]).toEqual([...one.grads.keys()]);
    for (const [name, grad] of one.grads) {
      expect(Buffer.from(two.grads.get(name)!.buffer).equals(Buffer.from(grad.buffer)), `gradient of ${name}`).toBe(true);
    }
  });
});
