// Every technique flag of finetune() on the CPU and WebGPU backends: each run
// trains (finite, falling loss on the longer run), its memory categories add
// up to the peak, and each technique leaves its own mark in the measurements
// (optimizer state only for trainable weights under LoRA, autocast copies
// under mixed precision, recomputation FLOPs under checkpointing, k
// micro-batches per step under accumulation, halved frozen bytes with the
// f16 base).

import { describe, expect, it } from 'vitest';
import { MEMORY_CATEGORIES } from '../../src/tensor/memory-ledger.js';
import { finetune, type FinetuneResult } from '../../src/train/finetune.js';
import type { FinetuneOptions } from '../../src/train/finetune-config.js';
import { shortRun, webgpuAvailable } from './helpers/run-fixtures.js';

const TECHNIQUES: [string, FinetuneOptions][] = [
  ['plain', {}],
  ['accumulation x2 (seed)', { accumulate: 2 }],
  ['accumulation x2 (exact)', { accumulate: 2, accumulationMode: 'exact' }],
  ['checkpointing two-segments', { checkpointing: 'two-segments' }],
  ['checkpointing block', { checkpointing: 'block' }],
  ['mixed precision', { mixedPrecision: true }],
  ['LoRA', { lora: { r: 4, alpha: 8, dropout: 0.05 } }],
  ['all four + f16 base', { lora: { r: 4, alpha: 8, dropout: 0.05, targets: ['wq', 'wk', 'wv', 'wo'] }, mixedPrecision: true, f16Base: true, checkpointing: 'two-segments', accumulate: 2, accumulationMode: 'exact' }],
];

function checkRun(name: string, r: FinetuneResult, o: FinetuneOptions): void {
  expect(r.steps, name).toBeGreaterThan(0);
  for (const l of r.losses) expect(Number.isFinite(l.loss), `${name}: loss at step ${l.step}`).toBe(true);
  // The ledger's categories at the peak add up to the peak, and live bytes are back to steady state.
  const peakSum = MEMORY_CATEGORIES.reduce((s, c) => s + r.memory.peak[c], 0);
  expect(peakSum, name).toBe(r.memory.peakTotal);
  expect(r.memory.live.gradients, `${name}: gradients freed after the step`).toBe(0);
  expect(r.memory.live.savedActivations, name).toBe(0);
  expect(r.memory.live.autocastWeightCopies, name).toBe(0);
  // AdamW keeps m and v (f32) for exactly the trainable parameters, created at the first step
  // taken (a GradScaler skips steps whose scaled gradients overflowed f16, as in PyTorch).
  const stepped = r.steps - r.skippedSteps;
  expect(r.memory.live.optimizerState, name).toBe(stepped > 0 ? 2 * r.memory.live.parametersTrainable : 0);
  if (!o.mixedPrecision) expect(r.skippedSteps, name).toBe(0);
  const k = o.accumulate ?? 1;
  expect(r.microBatches, name).toBeGreaterThanOrEqual(r.steps * 1);
  expect(r.microBatches, name).toBeLessThanOrEqual(r.steps * k);
  if (k > 1) expect(r.microBatches, name).toBeGreaterThan(r.steps);
  const recompute = r.work.byPhase.recomputation.flops;
  if (o.checkpointing && o.checkpointing !== 'none') expect(recompute, name).toBeGreaterThan(0);
  else expect(recompute, name).toBe(0);
  if (o.mixedPrecision) expect(r.memory.maxByCategory.autocastWeightCopies, name).toBeGreaterThan(0);
  else expect(r.memory.maxByCategory.autocastWeightCopies, name).toBe(0);
  if (o.lora) {
    expect(r.memory.live.parametersFrozen, name).toBeGreaterThan(0);
    expect(r.model.trainable, name).toBeLessThan(r.model.parameters / 4);
  } else expect(r.memory.live.parametersFrozen, name).toBe(0);
}

describe('finetune() with each technique, cpu backend', () => {
  for (const [name, extra] of TECHNIQUES) {
    it(name, async () => {
      const options = shortRun('cpu', { maxSteps: 3, ...extra });
      checkRun(name, await finetune(options), options);
    });
  }

  it('the f16 frozen base halves the frozen matrices and drops the per-use copies of them', async () => {
    const lora = { r: 4, alpha: 8, dropout: 0 };
    const f32Base = await finetune(shortRun('cpu', { maxSteps: 1, lora, mixedPrecision: true }));
    const f16Base = await finetune(shortRun('cpu', { maxSteps: 1, lora, mixedPrecision: true, f16Base: true }));
    // stories260K: norms stay f32 (5 layers x 2 x 64 + 64 floats); every frozen matrix halves.
    const normBytes = (5 * 2 * 64 + 64) * 4;
    expect(f16Base.memory.live.parametersFrozen - normBytes).toBe((f32Base.memory.live.parametersFrozen - normBytes) / 2);
    expect(f16Base.memory.maxByCategory.autocastWeightCopies).toBeLessThan(f32Base.memory.maxByCategory.autocastWeightCopies / 10);
  });

  it('a short run lowers the training and held-out loss', async () => {
    const r = await finetune(shortRun('cpu', { maxSamples: 16, batchSize: 4, epochs: 3, lr: 5e-3, evalSamples: 4, maxNewTokens: 2 }));
    const first = r.losses[0].loss;
    const lastMean = r.losses.slice(-3).reduce((s, l) => s + l.loss, 0) / 3;
    expect(lastMean).toBeLessThan(first * 0.8);
    expect(r.evalAfter!.loss).toBeLessThan(r.evalBefore!.loss);
  }, 300_000);
});

// wasm is what `auto` picks on a machine without a GPU: the main job's own backend.
describe('finetune() with each technique, wasm backend', () => {
  for (const [name, extra] of TECHNIQUES) {
    it(name, async () => {
      const options = shortRun('wasm', { maxSteps: 2, ...extra });
      checkRun(name, await finetune(options), options);
    });
  }

  it('matches the cpu backend: same ledger bytes, the same loss to f32 rounding', async () => {
    const o = { maxSteps: 2, lora: { r: 4, alpha: 8, dropout: 0.05 }, checkpointing: 'two-segments' as const, accumulate: 2 };
    const cpu = await finetune(shortRun('cpu', o));
    const wasm = await finetune(shortRun('wasm', o));
    expect(wasm.memory.peak).toEqual(cpu.memory.peak);
    wasm.losses.forEach((l, i) => expect(l.loss).toBeCloseTo(cpu.losses[i].loss, 3));
  });
});

const haveWebGpu = await webgpuAvailable('finetune() on webgpu:vulkan');
describe.runIf(haveWebGpu)('finetune() with each technique, webgpu:vulkan backend', () => {
  for (const [name, extra] of TECHNIQUES) {
    it(name, async () => {
      const options = shortRun('webgpu:vulkan', { maxSteps: 2, ...extra });
      checkRun(name, await finetune(options), options);
    });
  }

  it('a short run lowers the training and held-out loss', async () => {
    const r = await finetune(shortRun('webgpu:vulkan', { maxSamples: 16, batchSize: 4, epochs: 2, lr: 5e-3, evalSamples: 4, maxNewTokens: 2, mixedPrecision: true, lora: { r: 8, alpha: 16, dropout: 0 } }));
    const first = r.losses[0].loss;
    const lastMean = r.losses.slice(-3).reduce((s, l) => s + l.loss, 0) / 3;
    expect(lastMean).toBeLessThan(first * 0.9);
    expect(r.evalAfter!.loss).toBeLessThan(r.evalBefore!.loss);
  }, 300_000);

  it('reports the same ledger bytes as the cpu backend (logical bytes are backend-independent)', async () => {
    const o = { maxSteps: 1, lora: { r: 4, alpha: 8, dropout: 0 }, mixedPrecision: true, checkpointing: 'two-segments' as const };
    const cpu = await finetune(shortRun('cpu', o));
    const gpu = await finetune(shortRun('webgpu:vulkan', o));
    expect(gpu.memory.peak).toEqual(cpu.memory.peak);
    expect(gpu.memory.peakTotal).toBe(cpu.memory.peakTotal);
    expect(gpu.losses[0].loss).toBeCloseTo(cpu.losses[0].loss, 2);
  });
});
