// Measures what the memory model predicts: runs optimizer steps of the same
// training loop finetune() runs (microBatchLoss + model.forward under autocast
// when mixed precision is on, GradScaler, AdamW, zeroGrad), on batches of one
// fixed padded shape, and reads the ledger and the memory timeline of each
// step. The first step creates AdamW's state; the second shows the steady
// state. Random token ids stand in for data (memory depends on shapes only).

import { autocast } from '../autograd/autocast.js';
import { backward } from '../autograd/backward.js';
import { applyLora, markOnlyLoraAsTrainable } from '../nn/lora.js';
import { storeFrozenWeightsInF16 } from '../nn/frozen-half-precision.js';
import { Transformer } from '../nn/transformer.js';
import { tensor } from '../tensor/creation.js';
import { manualSeed } from '../tensor/generator.js';
import type { MemoryReport } from '../tensor/memory-ledger.js';
import { startMemoryTimeline, stopMemoryTimeline, type MemoryTimeline } from '../tensor/memory-timeline.js';
import { memoryReport, resetPeakMemory } from '../tensor/reports.js';
import { tidy } from '../tensor/scope.js';
import { AdamW } from '../train/adamw.js';
import { microBatchLoss, targetTokenCount } from '../train/causal-lm-loss.js';
import { GradScaler } from '../train/grad-scaler.js';
import { IGNORE_INDEX } from '../train/data/alpaca-tokenize.js';
import { peakLocation, type PeakLocation } from './timeline-replay.js';
import type { TrainingMemorySpec } from './memory-model-spec.js';

export interface MeasuredStep {
  /** The ledger after the step, its peak window covering exactly this step. */
  readonly report: MemoryReport;
  /** Where the step's peak happened (from the recorded timeline), or null without a timeline. */
  readonly peak: PeakLocation | null;
  readonly timeline: MemoryTimeline | null;
  /** false when GradScaler skipped the optimizer step (inf/NaN gradients). */
  readonly stepped: boolean;
}

export interface MeasuredTraining {
  /** Live bytes when training starts (parameters and the rotary tables). */
  readonly start: MemoryReport;
  readonly steps: MeasuredStep[];
}

/** Fixed-shape micro-batches: ids in [0, vocab) from a small LCG; the first quarter of each row is prompt (label -100). */
function fixedBatch(spec: TrainingMemorySpec, index: number): { ids: Int32Array; labels: Int32Array } {
  const { batchSize: B, seqLen: S } = spec;
  const vocab = spec.model.vocabSize;
  const ids = new Int32Array(B * S);
  const labels = new Int32Array(B * S);
  let state = (index * 7919 + 17) >>> 0;
  for (let i = 0; i < B * S; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    ids[i] = state % vocab;
    labels[i] = i % S < Math.max(1, Math.floor(S / 4)) ? IGNORE_INDEX : ids[i];
  }
  return { ids, labels };
}

/**
 * Builds the model of `spec` as prepareModel() does (seeded preset, LoRA then
 * frozen f16 base) and runs `steps` optimizer steps on the current backend.
 * `timeline` records each step's events (slower; needed for peak locations).
 */
export async function measureTrainingMemory(spec: TrainingMemorySpec, options: { steps?: number; timeline?: boolean; seed?: number; initScale?: number } = {}): Promise<MeasuredTraining> {
  const steps = options.steps ?? 2;
  manualSeed(options.seed ?? 0);
  const model = new Transformer(spec.model, { checkpointing: spec.checkpointing });
  let optimizer: AdamW | null = null;
  let scaler: GradScaler | null = null;
  try {
    if (spec.lora) {
      applyLora(model, { r: spec.lora.r, alpha: spec.lora.alpha, dropout: spec.lora.dropout, targets: spec.lora.targets, mergeWeights: false });
      markOnlyLoraAsTrainable(model);
    }
    if (spec.f16Base) storeFrozenWeightsInF16(model);
    optimizer = new AdamW(model.trainableParameters(), { lr: 1e-4, weightDecay: 0.01 });
    scaler = new GradScaler({ enabled: spec.mixedPrecision, ...(options.initScale !== undefined ? { initScale: options.initScale } : {}) });
    model.train();
    const start = memoryReport();
    const measured: MeasuredStep[] = [];
    let batchIndex = 0;
    for (let step = 0; step < steps; step++) {
      const window = Array.from({ length: spec.accumulate }, () => fixedBatch(spec, batchIndex++));
      const counts = window.map((b) => targetTokenCount(b.labels, spec.batchSize, spec.seqLen));
      const windowTokens = counts.reduce((a, b) => a + b, 0);
      resetPeakMemory();
      if (options.timeline) startMemoryTimeline();
      let stepped: boolean;
      let timeline: MemoryTimeline | null = null;
      try {
        for (const batch of window) {
          const loss = tidy(() => {
            const ids = tensor(batch.ids, [spec.batchSize, spec.seqLen]);
            const labels = tensor(batch.labels, [spec.batchSize, spec.seqLen]);
            const forward = () => microBatchLoss(model.forward(ids), labels, { mode: spec.accumulationMode, accumulate: spec.accumulate, windowTokens });
            return spec.mixedPrecision ? autocast('f16', forward) : forward();
          });
          const scaled = scaler.scale(loss);
          backward(scaled);
          if (scaled !== loss) scaled.dispose();
          await loss.item();
          loss.dispose();
        }
        stepped = await scaler.step(optimizer);
        await scaler.update();
        optimizer.zeroGrad();
      } finally {
        if (options.timeline) timeline = stopMemoryTimeline();
      }
      measured.push({ report: memoryReport(), peak: timeline ? peakLocation(timeline) : null, timeline, stepped });
    }
    return { start, steps: measured };
  } finally {
    optimizer?.dispose();
    scaler?.dispose();
    model.dispose();
  }
}
