// Greedy generation against an independent reference, and `gradlab generate`
// from a saved fine-tuning run and from weights plus an exported PEFT adapter.

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { shortRun, STORIES_260K, TOK_512 } from './helpers/run-fixtures.js';

const run = promisify(execFile);
const gradlab = (args: string[]) => run(process.execPath, ['bin/gradlab.js', ...args], { maxBuffer: 1 << 24 });

describe('greedy generation', () => {
  it("continues stories260K from BOS exactly as llama2.c's reference implementation", async () => {
    g.useBackend(new g.CpuBackend());
    const { model } = await g.loadLlama2cCheckpoint(STORIES_260K);
    const tokenizer = await g.loadLlama2cTokenizer(TOK_512);
    const ids = await g.greedyGenerate(model, tokenizer, [tokenizer.bosId], { maxNewTokens: 40 });
    // ../shared/data/README.md: llama2.c at temperature 0 begins with this text.
    expect(tokenizer.decode(ids)).toMatch(/^Once upon a time, there was a little girl named Lily\. She loved to play outside in the park\./);
    model.dispose();
  });

  it('rejects an empty prompt and a bad token budget', async () => {
    g.useBackend(new g.CpuBackend());
    const { model } = await g.loadLlama2cCheckpoint(STORIES_260K);
    const tokenizer = await g.loadLlama2cTokenizer(TOK_512);
    await expect(g.greedyGenerate(model, tokenizer, [])).rejects.toThrow(/prompt is empty/);
    await expect(g.greedyGenerate(model, tokenizer, [1], { maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens/);
    model.dispose();
  });
});

describe('gradlab generate', () => {
  it('completes from a saved LoRA run, and the exported PEFT adapter gives the same completion', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradlab-generate-'));
    await g.finetune(shortRun('cpu', { lora: { r: 4, alpha: 8, dropout: 0 }, lr: 2e-2, maxSteps: 3, save: dir }));
    const fromRun = await gradlab(['generate', '--backend', 'cpu', '--from', dir, '-n', '8', 'Once upon a time']);
    const step = readdirSync(dir).find((e) => e.startsWith('step-'))!;
    const fromPeft = await gradlab(['generate', '--backend', 'cpu', '--weights', STORIES_260K, '--tokenizer', TOK_512,
      '--adapter', join(dir, step, 'peft'), '-n', '8', 'Once upon a time']);
    const base = await gradlab(['generate', '--backend', 'cpu', '--weights', STORIES_260K, '--tokenizer', TOK_512, '-n', '8', 'Once upon a time']);
    expect(fromRun.stdout.startsWith('Once upon a time')).toBe(true);
    expect(fromPeft.stdout).toBe(fromRun.stdout);
    expect(base.stdout.startsWith('Once upon a time')).toBe(true);
    // The saved adapter is a trained one (B starts at zero and moved), so the match above is not vacuous.
    g.useBackend(new g.CpuBackend());
    const { model } = await g.loadLlama2cCheckpoint(STORIES_260K);
    await g.loadPeftAdapter(model, join(dir, step, 'peft'));
    const b = await model.getParameter('layers.0.attention.wq.lora_B').data();
    expect(b.some((v) => v !== 0)).toBe(true);
    model.dispose();
  }, 120_000);

  it('refuses --from combined with --weights', async () => {
    await expect(gradlab(['generate', '--from', '.', '--weights', STORIES_260K, 'hi'])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/--from restores/) });
  });
});
