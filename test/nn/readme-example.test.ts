// The README's model example, run as written (with a scratch weights file
// standing in for a real checkpoint), so the documented API cannot rot.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import * as g from '../../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'gradlab-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('the README example: load, LoRA, forward, loss, backward, gradients', async () => {
  const weights = join(dir, 'tiny.safetensors');
  const source = g.Transformer.fromPreset('tiny', { layers: 1 });
  await g.saveStateDictToSafetensors(source, weights);
  source.dispose();
  const lines: string[] = [];
  const log = (...args: unknown[]) => lines.push(args.join(' '));

  // --- README example (console.log -> log) ---
  g.useBackend(await g.createBackend('cpu')); // or 'webgpu'
  const model = g.Transformer.fromPreset('tiny', { layers: 1 }, { checkpointing: 'two-segments', init: 'zeros' });
  await g.loadStateDictFromSafetensors(model, weights); // Meta's names: layers.0.attention.wq.weight, ...
  g.applyLora(model); // the seed: r 16, alpha 32, dropout 0.05 on wq and wv
  g.markOnlyLoraAsTrainable(model);

  const tokens = g.tensor(Int32Array.from([1, 15043, 3186, 29991, 2]), [1, 5]);
  const labels = g.tensor(Int32Array.from([-100, -100, 3186, 29991, 2]), [1, 5]);
  const loss = g.tidy(() => {
    const logits = model.forward(tokens); // (1, 5, 32000) f32
    return g.crossEntropy(g.slice(logits, 1, 0, -1), g.slice(labels, 1, 1), { ignoreIndex: -100 });
  });
  loss.backward();
  log('loss', await loss.item());
  for (const [name, p] of model.namedParameters()) if (p.grad) log(name, p.grad.shape.join('x'));
  log(g.memoryReport().toString());
  // --- end of the example ---

  expect(lines[0]).toMatch(/^loss \d+\.\d+/);
  expect(lines.slice(1, 5)).toEqual([
    'layers.0.attention.wq.lora_A 16x64', 'layers.0.attention.wq.lora_B 64x16',
    'layers.0.attention.wv.lora_A 16x64', 'layers.0.attention.wv.lora_B 32x16',
  ]);
  expect(lines[5]).toMatch(/parameters \(trainable\)/);
  model.dispose();
  g.dispose([tokens, labels, loss]);
});
