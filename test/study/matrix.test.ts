// The technique matrix on a very small model: every combination runs, and
// its figures are consistent with each other and with hand-derived byte
// counts (parameter and AdamW state bytes from the shapes, counted here by
// hand), checkpointing shows recomputation, LoRA holds less optimizer
// state, and a recorded step's timeline peaks where the measured steady
// state does.

import { beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { useBackend } from '../../src/tensor/runtime.js';
import { MEMORY_CATEGORIES, type CategoryBytes } from '../../src/tensor/memory-ledger.js';
import type { MemoryTimeline } from '../../src/tensor/memory-timeline.js';
import { allCombinations, combinationName, parseCombinationName, PLAIN } from '../../src/study/matrix-combinations.js';
import { findCombination, runMatrix, type MatrixResult } from '../../src/study/matrix.js';
import type { MatrixSettings } from '../../src/study/matrix-runner.js';
import { peakLocation, replayMemoryTimeline } from '../../src/study/timeline-replay.js';
import { syntheticBatches } from '../../src/study/matrix-batches.js';
import { checkPredictions } from '../../src/study/matrix-prediction.js';

// tiny with 1 layer and a 64-token vocabulary: dim 64, 4 heads, 2 kv heads (head dim 16), FFN hidden
// floor(2*4*64/3) = 170 rounded up to a multiple of 32 = 192.
const SETTINGS: MatrixSettings = {
  preset: 'tiny', layers: 1, vocabSize: 64, batchSize: 2, seqLen: 8, steps: 2, accumulate: 2,
  checkpointingMode: 'two-segments', lora: { r: 4, alpha: 8, dropout: 0.05, targets: ['wq', 'wv'] }, lr: 1e-3, seed: 3,
};
// Per block: wq 64x64 + wk 32x64 + wv 32x64 + wo 64x64 + w1, w3 192x64 + w2 64x192 + two norms of 64.
const BLOCK = 4096 + 2048 + 2048 + 4096 + 3 * 12288 + 2 * 64;
const MATRICES = 64 * 64 * 2 + (BLOCK - 128); // embedding + output + the block's seven matrices
const PARAMS = 64 * 64 * 2 + BLOCK + 64; // + final norm
// The rotary cos and sin tables (kept by the model, outside any parameter): 2 x (2 * maxSeqLen 512) positions x head dim / 2 x f32.
const ROTARY_TABLES = 2 * 1024 * 8 * 4;
// LoRA r 4 on wq (A 4x64, B 64x4) and wv (A 4x64, B 32x4).
const LORA_PARAMS = 256 + 256 + 256 + 128;

const sum = (b: CategoryBytes) => MEMORY_CATEGORIES.reduce((s, c) => s + b[c], 0);

let matrix: MatrixResult;
const timelines = new Map<string, MemoryTimeline>();

beforeAll(async () => {
  useBackend(new CpuBackend());
  matrix = await runMatrix({ settings: SETTINGS, data: 'synthetic', timelines: ['plain', 'CK+MP+LoRA'], command: 'test' }, {
    onTimeline: (name, t) => { timelines.set(name, t); },
  });
}, 120_000);

describe('combinations', () => {
  it('are the 16 subsets plus an f16-base variant of each of the 8 MP rows, named uniquely', () => {
    const all = allCombinations();
    expect(all).toHaveLength(24);
    expect(new Set(all.map(combinationName)).size).toBe(24);
    expect(all.filter((c) => c.f16Base).every((c) => c.mixedPrecision)).toBe(true);
    expect(allCombinations({ f16BaseVariants: false })).toHaveLength(16);
  });

  it('parse back from their names, in any order and case, and reject bad names', () => {
    for (const c of allCombinations()) expect(parseCombinationName(combinationName(c))).toEqual(c);
    expect(parseCombinationName('lora+mp+ck')).toEqual({ ...PLAIN, lora: true, mixedPrecision: true, checkpointing: true });
    expect(() => parseCombinationName('CK+XX')).toThrow(/unknown technique 'XX'/);
    expect(() => parseCombinationName('f16-base+LoRA')).toThrow(/f16-base needs MP/);
    expect(() => parseCombinationName('CK+CK')).toThrow(/given twice/);
  });
});

describe('runMatrix on a tiny model', () => {
  it('measures every combination, with the machine and settings recorded', () => {
    expect(matrix.combinations.map((r) => r.name)).toEqual(allCombinations().map(combinationName));
    expect(matrix.machine.cores).toBeGreaterThan(0);
    expect(matrix.machine.backend).toBe('cpu');
    expect(matrix.settings).toEqual(SETTINGS);
    expect(matrix.model).toMatchObject({ dim: 64, layers: 1, vocabSize: 64 });
  });

  it('has categories that add up to every peak, and per-category maxima at least the peak breakdown', () => {
    for (const r of matrix.combinations) {
      for (const p of [r.peak, r.firstStepPeak, r.steadyStatePeak]) expect(sum(p.byCategory), r.name).toBe(p.totalBytes);
      expect(r.peak.totalBytes).toBe(Math.max(r.firstStepPeak.totalBytes, r.steadyStatePeak.totalBytes));
      for (const c of MEMORY_CATEGORIES) expect(r.maxByCategory[c], `${r.name}.${c}`).toBeGreaterThanOrEqual(r.peak.byCategory[c]);
      expect(Number.isFinite(r.finalLoss)).toBe(true);
      expect(r.steps).toHaveLength(SETTINGS.steps);
    }
  });

  it('counts parameters and AdamW state to the byte (hand-derived shapes)', () => {
    const plain = findCombination(matrix, 'plain');
    expect(plain.parameters).toEqual({ total: PARAMS, trainable: PARAMS, frozenMatricesInF16: 0 });
    expect(plain.maxByCategory.parametersTrainable).toBe(4 * PARAMS);
    expect(plain.maxByCategory.gradients).toBe(4 * PARAMS);
    expect(plain.maxByCategory.optimizerState).toBe(2 * 4 * PARAMS); // m and v, f32
    const lora = findCombination(matrix, 'LoRA');
    expect(lora.parameters.trainable).toBe(LORA_PARAMS);
    expect(lora.maxByCategory.parametersFrozen).toBe(4 * PARAMS);
    expect(lora.maxByCategory.optimizerState).toBe(2 * 4 * LORA_PARAMS);
    // f16 frozen base: the matrices in f16, the norms still f32.
    const half = findCombination(matrix, 'MP+f16-base+LoRA');
    expect(half.parameters.frozenMatricesInF16).toBe(9);
    expect(half.maxByCategory.parametersFrozen).toBe(2 * MATRICES + 4 * (PARAMS - MATRICES));
  });

  it('leaves parameters, optimizer state and the rotary tables live after every step, nothing else', () => {
    for (const r of matrix.combinations) {
      const expected = ROTARY_TABLES + 4 * r.parameters.trainable * 3 + (r.combination.f16Base && r.combination.lora ? 2 * MATRICES + 4 * (PARAMS - MATRICES) : 4 * (r.parameters.total - r.parameters.trainable));
      for (const s of r.steps) expect(s.liveAfterBytes, `${r.name} step ${s.step}`).toBe(expected);
    }
  });

  it('gives LoRA less optimizer state and fewer backward FLOPs than the same combination without it', () => {
    for (const r of matrix.combinations.filter((x) => x.combination.lora)) {
      const full = findCombination(matrix, combinationName({ ...r.combination, lora: false, f16Base: false }));
      expect(r.maxByCategory.optimizerState, r.name).toBeLessThan(full.maxByCategory.optimizerState);
      expect(r.maxByCategory.gradients, r.name).toBeLessThan(full.maxByCategory.gradients);
      expect(r.flopsPerStep.backward, r.name).toBeLessThan(full.flopsPerStep.backward);
    }
  });

  it('shows recomputation FLOPs exactly in the checkpointed rows, and fewer saved activations there', () => {
    for (const r of matrix.combinations) {
      if (r.combination.checkpointing) {
        expect(r.flopsPerStep.recomputation, r.name).toBeGreaterThan(0);
        const plain = findCombination(matrix, combinationName({ ...r.combination, checkpointing: false }));
        expect(r.maxByCategory.savedActivations, r.name).toBeLessThan(plain.maxByCategory.savedActivations);
        // Recomputation re-runs (part of) the forward: never more than the forward itself.
        expect(r.flopsPerStep.recomputation).toBeLessThanOrEqual(r.flopsPerStep.forward);
      } else {
        expect(r.flopsPerStep.recomputation, r.name).toBe(0);
      }
    }
  });

  it('runs k micro-batches per GA step: k times the forward work, one optimizer update', () => {
    for (const r of matrix.combinations.filter((x) => x.combination.accumulation)) {
      const single = findCombination(matrix, combinationName({ ...r.combination, accumulation: false }));
      expect(r.microBatchesPerStep).toBe(2);
      expect(r.flopsPerStep.forward, r.name).toBeGreaterThanOrEqual(2 * single.flopsPerStep.forward);
      expect(r.flopsPerStep.forward, r.name).toBeLessThan(2.01 * single.flopsPerStep.forward);
    }
  });

  it('measures the first step apart: AdamW state appears inside it', () => {
    for (const r of matrix.combinations) {
      const [first, second] = r.steps;
      expect(first.liveAfterBytes).toBe(second.liveAfterBytes);
      expect(first.maxByCategory.optimizerState).toBe(2 * 4 * r.parameters.trainable);
    }
  });

  it('f16-base changes nothing under full fine-tuning (no frozen matrix) but shrinks frozen weights and copies under LoRA', () => {
    for (const r of matrix.combinations.filter((x) => x.combination.f16Base)) {
      const mp = findCombination(matrix, combinationName({ ...r.combination, f16Base: false }));
      if (!r.combination.lora) {
        expect(r.parameters.frozenMatricesInF16).toBe(0);
        expect(r.peak).toEqual(mp.peak);
      } else {
        expect(r.maxByCategory.parametersFrozen).toBeLessThan(mp.maxByCategory.parametersFrozen);
        expect(r.maxByCategory.autocastWeightCopies).toBeLessThan(mp.maxByCategory.autocastWeightCopies);
      }
    }
  });

  it('records a timeline whose replayed peak is the measured steady-state peak, and says where it is', () => {
    for (const name of ['plain', 'CK+MP+LoRA']) {
      const t = timelines.get(name)!;
      const r = findCombination(matrix, name);
      expect(replayMemoryTimeline(t).peakTotal).toBe(r.steadyStatePeak.totalBytes);
      expect(peakLocation(t)!.totalBytes).toBe(r.steadyStatePeak.totalBytes);
      expect(r.peakWhere).toBe(peakLocation(t)!.description);
    }
    expect(findCombination(matrix, 'GA').peakWhere).toBeNull();
  });
});

describe('the matrix against the memory model', () => {
  it('measures what the model predicts from shapes alone, per category at the peak, for every combination', () => {
    const checks = checkPredictions(matrix);
    expect(checks).toHaveLength(24);
    for (const c of checks) {
      expect(c.measuredPeak, c.name).toBe(c.predictedPeak);
      expect(Object.values(c.residualAtPeak).every((r) => r === 0), c.name).toBe(true);
    }
  });
});

describe('runMatrix input errors', () => {
  it('names a bad setting', async () => {
    await expect(runMatrix({ settings: { ...SETTINGS, steps: 1 }, data: 'synthetic', combinations: [PLAIN] })).rejects.toThrow(/steps must be an integer >= 2, got 1/);
    await expect(runMatrix({ settings: SETTINGS, data: 'embedded', combinations: [PLAIN] })).rejects.toThrow(/vocabulary 64 needs --data synthetic/);
  });

  it('synthetic batches are deterministic and within the vocabulary', () => {
    const [a] = syntheticBatches(1, 2, 8, 64, 5);
    const [b] = syntheticBatches(1, 2, 8, 64, 5);
    expect(a.inputIds).toEqual(b.inputIds);
    expect(Math.max(...a.inputIds)).toBeLessThan(64);
    expect(a.targetTokens).toBe(2 * 7);
  });
});
