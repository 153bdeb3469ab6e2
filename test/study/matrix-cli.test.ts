// `gradlab matrix` end to end through the CLI's own parser (main() with the
// command added, as src/cli/main.ts will register it): the result files with
// the command and machine in them, Table 1 in the Markdown, the charts; and
// --timeline writing the events and the chart and naming the peak's place.

import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main, COMMANDS } from '../../src/cli/main.js';
import { matrixCommand, timelineBaseName } from '../../src/cli/matrix.js';
import { parseMatrixJson } from '../../src/study/matrix-report.js';

const dir = mkdtempSync(join(tmpdir(), 'gradlab-matrix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function gradlab(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')); });
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => { err.push(a.join(' ')); });
  try {
    const code = await main(argv, [...COMMANDS, matrixCommand]);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

const SMALL = ['--preset', 'tiny', '--layers', '1', '--vocab', '64', '--data', 'synthetic', '--seq-len', '8', '--batch-size', '2', '--steps', '2', '--backend', 'cpu', '--lora', '4,8,0'];

describe('gradlab matrix', () => {
  it('writes JSON, Markdown with Table 1, and the two charts', async () => {
    const r = await gradlab('matrix', ...SMALL, '--only', 'plain,GA,CK,MP,LoRA', '--out', dir, '--tag', 't', '--timeline-dir', join(dir, 'tl'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\[5\/5\] LoRA/);
    const result = parseMatrixJson(readFileSync(join(dir, 'study-matrix-t.json'), 'utf8'));
    // Every setting spelled out, defaults included, so the command reproduces the run.
    expect(result.command).toBe('gradlab matrix --preset tiny --layers 1 --vocab 64 --seq-len 8 --batch-size 2 --steps 2 --accumulate 2 ' +
      '--checkpointing two-segments --lora 4,8,0 --lora-targets wq,wv --lr 0.001 --seed 0 --data synthetic --backend cpu --only plain,GA,CK,MP,LoRA');
    expect(result.combinations.map((c) => c.name)).toEqual(['plain', 'GA', 'CK', 'MP', 'LoRA']);
    expect(result.settings.lora).toEqual({ r: 4, alpha: 8, dropout: 0, targets: ['wq', 'wv'] });
    const md = readFileSync(join(dir, 'study-matrix-t.md'), 'utf8');
    expect(md).toContain('## Table 1: each technique alone against plain');
    expect(md).toMatch(/\| LoRA \| The seed's table says it lowers parameter memory\./);
    for (const f of ['study-memory-t.svg', 'study-runtime-t.svg', `tl/${timelineBaseName('plain')}.svg`, `tl/${timelineBaseName('LoRA')}.json`]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    expect(readFileSync(join(dir, 'study-memory-t.svg'), 'utf8')).toMatch(/^<svg/);
  }, 60_000);

  it('--timeline records one step of one combination and says where the peak is', async () => {
    const file = join(dir, 'ck.json');
    const r = await gradlab('matrix', ...SMALL, '--timeline', file, '--combination', 'CK+LoRA');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/CK\+LoRA: tiny, 1 layer, vocab 64/);
    expect(r.out).toMatch(/events; peak [\d.]+ KiB at event \d+: \w+/);
    const json = JSON.parse(readFileSync(file, 'utf8'));
    expect(json.format).toBe('gradlab-memory-timeline/1');
    expect(json.events.length).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'ck.svg'), 'utf8')).toMatch(/One steady-state training step, CK\+LoRA/);
  }, 60_000);

  it('rejects a bad combination name and too few steps with usage errors', async () => {
    const bad = await gradlab('matrix', '--only', 'plain,XY');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--only.*unknown technique 'XY'/s);
    const steps = await gradlab('matrix', '--steps', '1');
    expect(steps.code).toBe(2);
    expect(steps.err).toMatch(/--steps.*integer >= 2/s);
  });
});
