// `gradlab memory`: the flags map onto the memory model's options the way
// `gradlab finetune`'s map onto finetune()'s, the report shows each category
// at both peaks and where the peak falls, --json is the prediction itself,
// --matrix lists every combination, and bad combinations exit 2 naming them.
// (main.ts registers the command; here it is passed to main() directly.)

import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { memoryCommand, memoryOptionsFromFlags } from '../../src/cli/memory.js';
import { predictTrainingMemory } from '../../src/study/memory-model.js';

interface Captured { code: number; out: string; err: string }

async function run(...argv: string[]): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.join(' ')); });
  const code = await main(['memory', ...argv], [memoryCommand]);
  vi.restoreAllMocks();
  return { code, out: out.join('\n'), err: err.join('\n') };
}

afterEach(() => vi.restoreAllMocks());

describe('gradlab memory', () => {
  it('prints the table per category, both peaks and the peak location for the seed\'s 7B LoRA + MP run', async () => {
    const r = await run('--preset', '7b', '--layers', '32', '--seq-len', '512', '--batch-size', '1', '--lora', '--mixed-precision');
    expect(r.code).toBe(0);
    const p = predictTrainingMemory({ preset: '7b', layers: 32, seqLen: 512, batchSize: 1, lora: { r: 16, alpha: 32, dropout: 0.05, targets: ['wq', 'wv'] }, mixedPrecision: true });
    for (const label of ['parameters (frozen)', 'autocast weight copies', 'saved activations', 'optimizer state', 'first step:', 'steady state:']) expect(r.out).toContain(label);
    expect(r.out).toContain(p.steadyState.location!.description);
    expect(r.out).toContain(`${(p.peakTotal / 1e9).toFixed(2)} GB`);
    expect(r.out).toContain('MP+LoRA(r16,wq/wv,p0.05)');
  });

  it('--explain lists what the peak is made of', async () => {
    const r = await run('--preset', 'tiny', '--layers', '2', '--seq-len', '16', '--lora', '--mixed-precision', '--explain');
    expect(r.code).toBe(0);
    expect(r.out).toContain('at the steady-state peak');
    expect(r.out).toMatch(/cast in layers\.\*\.feed_forward\.w1 \(forward\)/);
  });

  it('--json prints the prediction object', async () => {
    const r = await run('--preset', 'tiny', '--layers', '1', '--seq-len', '16', '--accumulate', '2', '--exact', '--checkpointing', 'block', '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out);
    const p = predictTrainingMemory({ preset: 'tiny', layers: 1, seqLen: 16, batchSize: 1, accumulate: 2, accumulationMode: 'exact', checkpointing: 'block' });
    expect(json.peakTotal).toBe(p.peakTotal);
    expect(json.peak).toEqual(p.peak);
    expect(json.spec.accumulationMode).toBe('exact');
  });

  it('maps the flags like gradlab finetune: --lora R,ALPHA,DROPOUT and --lora-targets', () => {
    const o = memoryOptionsFromFlags({
      preset: '7b', layers: 8, 'vocab-size': undefined, 'seq-len': 256, 'batch-size': 2, accumulate: 4, exact: false, checkpointing: 'two-segments',
      'mixed-precision': true, 'f16-base': true, lora: { r: 8, alpha: 16, dropout: 0 }, 'lora-targets': ['wq', 'wk'], explain: false, matrix: false, json: false,
    });
    expect(o).toEqual({
      preset: '7b', layers: 8, batchSize: 2, seqLen: 256, accumulate: 4, accumulationMode: 'seed', checkpointing: 'two-segments',
      mixedPrecision: true, f16Base: true, lora: { r: 8, alpha: 16, dropout: 0, targets: ['wq', 'wk'] },
    });
  });

  it('--matrix prints the 24 combinations with 40 and 80 GiB verdicts', async () => {
    const r = await run('--preset', '7b', '--layers', '1', '--matrix');
    expect(r.code).toBe(0);
    const rows = r.out.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| combination'));
    expect(rows).toHaveLength(24);
    expect(r.out).toContain('> 40 GiB');
    expect(r.out).toContain('> 80 GiB');
  });

  it.each([
    [['--f16-base'], '--f16-base needs --mixed-precision'],
    [['--lora-targets', 'wq'], '--lora-targets needs --lora'],
    [['--seq-len', '1'], "'1' is not an integer >= 2"],
    [['--lora', '0'], "rank '0' is not a positive integer"],
    [['--checkpointing', 'layers'], "'layers'"],
  ])('%j exits 2 naming the problem', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  it('a sequence beyond the preset\'s maxSeqLen fails with the figures (exit 1)', async () => {
    const r = await run('--preset', 'tiny', '--seq-len', '600');
    expect(r.code).toBe(1);
    expect(r.err).toContain("seqLen 600 exceeds the model's maxSeqLen 512");
  });
});
