// The PyTorch golden (tiny LLaMA-2, GQA, LoRA on wq/wv) on the WebGPU backend
// in f32: logits, loss and every gradient. Without a WebGPU adapter the suite
// is skipped with the reason printed; under CI=true that is a failure instead.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { compareToGolden, GOLDEN_DIR, loadGoldenInputs, loadGoldenModel, runTrainingStep, type Mismatch } from './helpers/llama-golden.js';

async function tryWebGpu(): Promise<{ backend: g.Backend | null; reason: string }> {
  try {
    return { backend: await g.createBackend('webgpu'), reason: '' };
  } catch (err) {
    return { backend: null, reason: (err as Error).message.split('\n')[0] };
  }
}

const webgpu = await tryWebGpu();
const inCI = process.env.CI === 'true';
if (!webgpu.backend) console.warn(`[skipped] LLaMA-2 golden on WebGPU: no WebGPU backend (${webgpu.reason})${inCI ? ' -- a failure under CI=true' : ''}`);

describe('LLaMA-2 + LoRA golden from PyTorch, WebGPU f32', () => {
  // Without an adapter: a failing test under CI=true, else a skip whose reason was printed above.
  if (!webgpu.backend && inCI) {
    it('CI=true requires a WebGPU adapter', () => {
      throw new Error(`no WebGPU backend under CI=true: ${webgpu.reason}`);
    });
  }

  describe.skipIf(!webgpu.backend)('on the adapter', () => {
    let model: g.Transformer;
    let expected: Map<string, g.Tensor>;
    let logits: g.Tensor;
    let loss: g.Tensor;

    beforeAll(async () => {
      g.useBackend(webgpu.backend!);
      model = await loadGoldenModel('f32');
      expected = await g.loadSafetensors(`${GOLDEN_DIR}expected-f32.safetensors`);
      const { tokens, labels } = await loadGoldenInputs();
      ({ logits, loss } = runTrainingStep(model, tokens, labels));
      g.dispose([tokens, labels]);
    });

    afterAll(() => {
      model?.dispose();
      g.dispose([logits, loss, [...(expected?.values() ?? [])]]);
      webgpu.backend?.destroy();
    });

    it('runs on the WebGPU backend', () => {
      expect(logits.context.backend).toBe(webgpu.backend);
      expect(logits.dtype).toBe('f32');
    });

    it('logits and loss match', async () => {
      expect(await compareToGolden('logits', logits, expected.get('logits')!, 'f32')).toBeNull();
      expect(await compareToGolden('loss', loss, expected.get('loss')!, 'f32')).toBeNull();
    });

    it('every parameter gradient matches', async () => {
      const mismatches: Mismatch[] = [];
      for (const [name, p] of model.namedParameters()) {
        expect(p.grad, `${name} has no gradient`).not.toBeNull();
        const m = await compareToGolden(name, p.grad!, expected.get(`grad.${name}`)!, 'f32');
        if (m) mismatches.push(m);
      }
      expect(mismatches).toEqual([]);
    });
  });
});
