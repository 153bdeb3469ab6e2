// Fixtures for fine-tuning tests: llama2.c's pretrained stories260K (a real
// LLaMA-2-shaped model with a 512-piece vocabulary, small enough for CPU
// tests) from the shared data folder, and options for short runs.

import { existsSync } from 'node:fs';
import { describe, it } from 'vitest';
import type { FinetuneOptions } from '../../../src/train/finetune-config.js';
import { createWebGpuBackend } from '../../../src/backends/webgpu/index.js';

export const STORIES_260K = '../shared/data/stories260K.bin';
export const TOK_512 = '../shared/data/tok512.bin';

if (!existsSync(STORIES_260K) || !existsSync(TOK_512)) {
  throw new Error(`fine-tuning tests need ${STORIES_260K} and ${TOK_512} (the shared data folder beside the repository)`);
}

/** A short run on stories260K: 8 records of the embedded set, batch 2, no evaluation. */
export function shortRun(backend: string, extra: FinetuneOptions = {}): FinetuneOptions {
  return {
    backend, weights: STORIES_260K, tokenizer: TOK_512, maxSamples: 8, batchSize: 2, maxSeqLen: 192,
    evalSamples: 0, lr: 3e-3, seed: 1, ...extra,
  };
}

export const IN_CI = process.env.CI === 'true';

/** Whether a Vulkan WebGPU adapter opens; registers a skip (or, under CI=true, a failing test) when not. */
export async function webgpuAvailable(label: string): Promise<boolean> {
  try {
    (await createWebGpuBackend({ adapter: 'vulkan' })).destroy();
    return true;
  } catch (cause) {
    const reason = (cause as Error).message;
    if (IN_CI) describe(label, () => it('has a WebGPU adapter (required when CI=true)', () => { throw new Error(reason); }));
    else {
      console.log(`[${label}] SKIPPED: ${reason}`);
      describe.skip(`${label} (skipped: no adapter)`, () => it('needs a WebGPU adapter', () => {}));
    }
    return false;
  }
}
