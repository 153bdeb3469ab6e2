// `gradlab finetune` on the command line: flags map onto finetune()'s options,
// bad input is a usage error naming the flag, and --json prints the report.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { finetuneCommand, finetuneOptionsFromFlags } from '../../src/cli/finetune.js';
import { parseCommandLine } from '../../src/cli/flags.js';
import { STORIES_260K, TOK_512 } from '../finetune/helpers/run-fixtures.js';

const run = promisify(execFile);
const gradlab = (args: string[]) => run(process.execPath, ['bin/gradlab.js', ...args], { maxBuffer: 1 << 24 });

function options(args: string[]) {
  const parsed = parseCommandLine(finetuneCommand, args);
  if (parsed.kind !== 'run') throw new Error('expected a run');
  return finetuneOptionsFromFlags(parsed.values);
}

describe('gradlab finetune flags', () => {
  it('maps every technique flag onto finetune() options', () => {
    const o = options(['--accumulate', '4', '--exact', '--checkpointing', 'two-segments', '--mixed-precision', '--f16-base',
      '--lora', '--lora-targets', 'wq,wk,wv', '--batch-size', '2', '--max-seq-len', '128', '--epochs', '3', '--lr', '2e-4', '--seed', '7']);
    expect(o).toMatchObject({
      accumulate: 4, accumulationMode: 'exact', checkpointing: 'two-segments', mixedPrecision: true, f16Base: true,
      lora: { r: 16, alpha: 32, dropout: 0.05, targets: ['wq', 'wk', 'wv'] }, batchSize: 2, maxSeqLen: 128, epochs: 3, lr: 2e-4, seed: 7,
    });
    expect(options(['--lora', '8,16,0']).lora).toEqual({ r: 8, alpha: 16, dropout: 0, targets: ['wq', 'wv'] });
    expect(options(['--lora', '4']).lora).toEqual({ r: 4, alpha: 32, dropout: 0.05, targets: ['wq', 'wv'] });
    expect(options([])).toMatchObject({ backend: 'auto', preset: 'tiny', accumulate: 1, accumulationMode: 'seed', checkpointing: 'none', mixedPrecision: false, lora: null });
  });

  it.each([
    [['--accumulate', '0'], /--accumulate.*positive integer/],
    [['--accumulate', '1.5'], /--accumulate.*positive integer/],
    [['--checkpointing', 'all'], /--checkpointing.*none, block, two-segments/],
    [['--lora', '0,32'], /--lora.*rank '0'/],
    [['--lora', '8,16,1.5'], /--lora.*dropout/],
    [['--lora-targets', 'wz', '--lora'], /--lora-targets/],
    [['--backend', 'tpu'], /--backend/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--lr'], /--lr needs a value/],
  ])('rejects %j', (args, message) => {
    expect(() => parseCommandLine(finetuneCommand, args)).toThrow(message);
  });

  it('names the conflicts between flags', () => {
    expect(() => options(['--lora-targets', 'wq'])).toThrow(/--lora-targets needs --lora/);
  });

  it('--f16-base without --mixed-precision fails with the reason, exit 1', async () => {
    await expect(gradlab(['finetune', '--backend', 'cpu', '--f16-base'])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/f16Base .* needs mixedPrecision/) });
  });

  it('a usage error exits 2 and points to --help; --help lists the technique flags', async () => {
    await expect(gradlab(['finetune', '--accumulate', 'x'])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/gradlab finetune --help/) });
    const help = await gradlab(['finetune', '--help']);
    for (const flag of ['--accumulate', '--exact', '--checkpointing', '--mixed-precision', '--f16-base', '--lora [R,ALPHA,DROPOUT]', '--lora-targets', '--data', '--save', '--resume', '--json']) {
      expect(help.stdout).toContain(flag);
    }
  });

  it('--json prints the whole report as JSON', async () => {
    const { stdout } = await gradlab(['finetune', '--backend', 'cpu', '--weights', STORIES_260K, '--tokenizer', TOK_512, '--max-samples', '4',
      '--batch-size', '2', '--max-seq-len', '192', '--eval-samples', '1', '--max-new-tokens', '2', '--max-steps', '1', '--lora', '--json']);
    const report = JSON.parse(stdout);
    expect(report.steps).toBe(1);
    expect(report.config.lora).toEqual({ r: 16, alpha: 32, dropout: 0.05, targets: ['wq', 'wv'] });
    expect(report.memory.peakTotal).toBeGreaterThan(0);
    expect(report.work.byPhase.forward.flops).toBeGreaterThan(0);
    expect(report.evalBefore.total).toBe(1);
  }, 60_000);

  it('--timeline writes the first step\'s events as JSON and a chart, and names where the peak happened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradlab-timeline-'));
    const file = join(dir, 'step.json');
    const { stdout } = await gradlab(['finetune', '--backend', 'cpu', '--weights', STORIES_260K, '--tokenizer', TOK_512, '--max-samples', '2',
      '--batch-size', '2', '--max-seq-len', '192', '--eval-samples', '0', '--max-steps', '1', '--checkpointing', 'two-segments', '--quiet', '--timeline', file]);
    expect(stdout).toMatch(/memory timeline of step 1: \d+ events in .*step\.json, chart .*step\.svg; peak (forward|backward|recomputation|optimizer)/);
    const events = JSON.parse(readFileSync(file, 'utf8'));
    expect(events.events.length).toBeGreaterThan(100);
    expect(events.events.some((e: { phase: string }) => e.phase === 'recomputation')).toBe(true);
    expect(readFileSync(join(dir, 'step.svg'), 'utf8')).toMatch(/^<svg/);
  }, 60_000);
});
