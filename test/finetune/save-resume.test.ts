// Save and resume: a run stopped and resumed equals an uninterrupted run
// bitwise on the CPU backend (weights or adapter, AdamW state, GradScaler,
// data order, generator), a mismatched resume is refused, and a process
// killed at arbitrary moments (saves included) always leaves a loadable
// latest checkpoint.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finetune } from '../../src/train/finetune.js';
import type { FinetuneOptions } from '../../src/train/finetune-config.js';
import { loadFinetunedModel, readLatestCheckpoint } from '../../src/train/run-checkpoint.js';
import { useBackend } from '../../src/tensor/runtime.js';
import { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { shortRun, STORIES_260K, TOK_512 } from './helpers/run-fixtures.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'gradlab-resume-'));

/** Every file of a checkpoint directory, as bytes (run.json parsed, its config and state compared whole). */
function checkpointFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`);
      else out.set(`${prefix}${e.name}`, readFileSync(join(d, e.name)));
    }
  };
  walk(dir, '');
  return out;
}

const CASES: [string, FinetuneOptions][] = [
  ['full fine-tuning with exact accumulation', { accumulate: 2, accumulationMode: 'exact', maxSamples: 12 }],
  ['LoRA with dropout, mixed precision, checkpointing', { lora: { r: 4, alpha: 8, dropout: 0.1 }, mixedPrecision: true, checkpointing: 'two-segments', maxSamples: 12 }],
];

describe('resume equals an uninterrupted run (cpu, bitwise)', () => {
  for (const [name, extra] of CASES) {
    it(name, async () => {
      const whole = tmp();
      const parts = tmp();
      const base = shortRun('cpu', { ...extra, epochs: 2 });
      // 12 records, batch 2: 6 batches per epoch; stop at step 4 of 6 (mid-epoch) or 2 of 3.
      const total = extra.accumulate ? 5 : 8;
      const stopAt = extra.accumulate ? 2 : 3;
      const a = await finetune({ ...base, save: whole, maxSteps: total });
      await finetune({ ...base, save: parts, maxSteps: stopAt });
      const c = await finetune({ ...base, save: parts, resume: parts, maxSteps: total });
      expect(c.startStep).toBe(stopAt);
      expect(c.losses.map((l) => l.loss)).toEqual(a.losses.slice(stopAt).map((l) => l.loss));
      const name_ = `step-${String(total).padStart(6, '0')}`;
      const fa = checkpointFiles(join(whole, name_));
      const fc = checkpointFiles(join(parts, name_));
      expect([...fc.keys()].sort()).toEqual([...fa.keys()].sort());
      for (const [file, bytes] of fa) expect(fc.get(file)!.equals(bytes), file).toBe(true);
    }, 240_000);
  }

  it('refuses to resume with settings that would not continue the same training', async () => {
    const dir = tmp();
    await finetune(shortRun('cpu', { save: dir, maxSteps: 1 }));
    await expect(finetune(shortRun('cpu', { save: dir, resume: dir, maxSteps: 2, lr: 1e-2 }))).rejects.toThrow(/lr: saved 0.003, now 0.01/);
    await expect(finetune(shortRun('cpu', { resume: tmp() }))).rejects.toThrow(/holds no complete checkpoint/);
  }, 120_000);
});

describe('a run killed at any moment leaves its last complete save loadable', () => {
  it('survives SIGKILL at random moments, saves included', async () => {
    const dir = tmp();
    const args = ['bin/gradlab.js', 'finetune', '--backend', 'cpu', '--weights', STORIES_260K, '--tokenizer', TOK_512,
      '--max-samples', '16', '--batch-size', '1', '--max-seq-len', '192', '--eval-samples', '0', '--save', dir, '--save-every', '1', '--max-steps', '60', '--quiet'];
    let lastStep = -1;
    for (let attempt = 0; attempt < 4; attempt++) {
      const resume = existsSync(join(dir, 'latest.json')) ? ['--resume', dir] : [];
      const child = spawn(process.execPath, [...args, ...resume], { stdio: 'ignore' });
      // Wait until this process has published a save, then kill it a random moment later.
      const startedWith = lastStep;
      for (let waited = 0; waited < 120_000; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
        try {
          const step = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')).step;
          if (step > startedWith) break;
        } catch { /* not published yet, or being replaced: keep waiting */ }
      }
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 1500)));
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      const { path, run } = await readLatestCheckpoint(dir);
      expect(run.state.step).toBeGreaterThanOrEqual(lastStep);
      lastStep = run.state.step;
      useBackend(new CpuBackend());
      const loaded = await loadFinetunedModel(dir);
      expect(loaded.step).toBe(run.state.step);
      loaded.model.dispose();
      // The published checkpoint is there. A kill between renaming a finished checkpoint into
      // place and publishing it (or while older ones were being deleted) may leave one more
      // step-* directory: unpublished, never read, removed by the next save.
      const steps = readdirSync(dir).filter((e) => e.startsWith('step-'));
      expect(steps).toContain(path.split('/').pop());
      expect(steps.length).toBeLessThanOrEqual(2);
    }
    expect(lastStep).toBeGreaterThan(0);
  }, 300_000);
});
