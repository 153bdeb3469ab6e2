// Runs one technique combination for a fixed number of optimizer steps and
// measures it: peak bytes with the breakdown at the peak and each category's
// own maximum; the first optimizer step's peak (AdamW creates its state
// lazily, inside that step) and the steady-state peak separately; time per
// step; FLOPs per phase; the loss reached. The step is finetune()'s
// (microBatchLoss, autocast, GradScaler, AdamW, zeroGrad to none) on
// fixed-shape batches, with the ledger's peak window and the work counter
// restarted before every step so each step is measured on its own.
//
// Gradient accumulation follows the seed: GA rows run `accumulate`
// micro-batches of the same batch size per optimizer step (loss / k each),
// so a GA step does k times the forward and backward work of a plain one.

import { autocast } from '../autograd/autocast.js';
import { backward } from '../autograd/backward.js';
import { applyLora, markOnlyLoraAsTrainable } from '../nn/lora.js';
import { storeFrozenWeightsInF16 } from '../nn/frozen-half-precision.js';
import type { PresetName } from '../nn/model-args.js';
import { Transformer, type CheckpointingMode } from '../nn/transformer.js';
import { tensor } from '../tensor/creation.js';
import { manualSeed } from '../tensor/generator.js';
import { MEMORY_CATEGORIES, type CategoryBytes, type MemoryReport } from '../tensor/memory-ledger.js';
import { recordMemoryTimeline, type MemoryTimeline } from '../tensor/memory-timeline.js';
import { memoryReport, resetPeakMemory, resetWork, workReport } from '../tensor/reports.js';
import { tidy } from '../tensor/scope.js';
import { PHASES, type Phase } from '../tensor/work-counter.js';
import { AdamW } from '../train/adamw.js';
import { microBatchLoss } from '../train/causal-lm-loss.js';
import { GradScaler } from '../train/grad-scaler.js';
import { combinationName, type Combination } from './matrix-combinations.js';
import type { FixedBatch } from './matrix-batches.js';
import { peakLocation } from './timeline-replay.js';

export interface MatrixLoraSettings {
  readonly r: number;
  readonly alpha: number;
  readonly dropout: number;
  readonly targets: readonly string[];
}

/** What every combination shares: the model, the batch shape, the step count and the technique settings. */
export interface MatrixSettings {
  readonly preset: PresetName;
  /** Transformer blocks (the preset's own count when null). */
  readonly layers: number | null;
  /** Vocabulary override (the preset's own when null). */
  readonly vocabSize: number | null;
  readonly batchSize: number;
  readonly seqLen: number;
  /** Optimizer steps measured (>= 2: the first, then the steady state). */
  readonly steps: number;
  /** Micro-batches per optimizer step in the GA rows (the seed: 8). */
  readonly accumulate: number;
  /** The mode used in the CK rows (the seed: two segments per block). */
  readonly checkpointingMode: Exclude<CheckpointingMode, 'none'>;
  readonly lora: MatrixLoraSettings;
  readonly lr: number;
  readonly seed: number;
}

export const DEFAULT_MATRIX_SETTINGS: MatrixSettings = {
  preset: 'tiny', layers: 2, vocabSize: null, batchSize: 2, seqLen: 64, steps: 3, accumulate: 2,
  checkpointingMode: 'two-segments', lora: { r: 16, alpha: 32, dropout: 0.05, targets: ['wq', 'wv'] }, lr: 1e-3, seed: 0,
};

export interface PeakFigures {
  readonly totalBytes: number;
  /** Bytes per category at the moment of the peak (they add up to totalBytes). */
  readonly byCategory: CategoryBytes;
}

export interface StepMeasurement {
  readonly step: number;
  readonly ms: number;
  readonly peak: PeakFigures;
  readonly maxByCategory: CategoryBytes;
  /** Live bytes once the step is over (parameters + optimizer state: gradients are freed by zeroGrad). */
  readonly liveAfterBytes: number;
  readonly flops: Record<Phase, number>;
  /** Mean loss per target token over the step's window. */
  readonly loss: number;
  readonly lossScale: number;
  readonly stepped: boolean;
}

export interface CombinationResult {
  readonly name: string;
  readonly combination: Combination;
  readonly parameters: { readonly total: number; readonly trainable: number; readonly frozenMatricesInF16: number };
  readonly microBatchesPerStep: number;
  /** Over all measured steps: the highest peak, its breakdown, and each category's own maximum. */
  readonly peak: PeakFigures;
  readonly maxByCategory: CategoryBytes;
  readonly firstStepPeak: PeakFigures;
  /** The highest peak of the steps after the first. */
  readonly steadyStatePeak: PeakFigures;
  /** Median time of the steps after the first (the first includes warm-up and lazy state creation). */
  readonly msPerStep: number;
  readonly firstStepMs: number;
  /** FLOPs of one steady-state optimizer step, by phase. */
  readonly flopsPerStep: Record<Phase, number> & { readonly total: number };
  readonly finalLoss: number;
  readonly skippedSteps: number;
  readonly steps: readonly StepMeasurement[];
  /** Where the steady-state peak happens, from a timeline of one extra step (null if not recorded). */
  readonly peakWhere: string | null;
}

function checkSettings(s: MatrixSettings): void {
  const int = (name: string, v: number, min: number) => {
    if (!Number.isSafeInteger(v) || v < min) throw new Error(`matrix: ${name} must be an integer >= ${min}, got ${v}`);
  };
  int('steps', s.steps, 2);
  int('batchSize', s.batchSize, 1);
  int('seqLen', s.seqLen, 2);
  int('accumulate', s.accumulate, 2);
  if (s.layers !== null) int('layers', s.layers, 1);
  if (s.vocabSize !== null) int('vocabSize', s.vocabSize, 2);
  int('lora.r', s.lora.r, 1);
}

const peakOf = (r: MemoryReport): PeakFigures => ({ totalBytes: r.peakTotal, byCategory: { ...r.peak } });

function higherPeak(steps: readonly StepMeasurement[]): PeakFigures {
  // The first step with the highest total: the same peak one window over all these steps would report.
  return steps.reduce((best, s) => (s.peak.totalBytes > best.totalBytes ? s.peak : best), steps[0].peak);
}

function categoryMax(steps: readonly StepMeasurement[]): CategoryBytes {
  return Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, Math.max(...steps.map((s) => s.maxByCategory[c]))])) as CategoryBytes;
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** The model of one combination, built in prepareModel's order (LoRA freezes the base; only then can the base go to f16). */
export function buildStudyModel(settings: MatrixSettings, c: Combination): { model: Transformer; frozenMatricesInF16: number } {
  manualSeed(settings.seed);
  const overrides = { ...(settings.layers !== null ? { layers: settings.layers } : {}), ...(settings.vocabSize !== null ? { vocabSize: settings.vocabSize } : {}) };
  const model = Transformer.fromPreset(settings.preset, overrides, { checkpointing: c.checkpointing ? settings.checkpointingMode : 'none' });
  try {
    if (c.lora) {
      applyLora(model, { r: settings.lora.r, alpha: settings.lora.alpha, dropout: settings.lora.dropout, targets: [...settings.lora.targets], mergeWeights: false });
      markOnlyLoraAsTrainable(model);
    }
    const frozen = c.f16Base ? storeFrozenWeightsInF16(model) : null;
    return { model, frozenMatricesInF16: frozen?.converted.length ?? 0 };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

export interface RunCombinationOptions {
  /** Record one more steady-state step as a memory timeline (kept out of the measured steps). */
  readonly recordTimeline?: boolean;
}

export interface CombinationRun {
  readonly result: CombinationResult;
  readonly timeline: MemoryTimeline | null;
}

/**
 * Trains combination `c` for settings.steps optimizer steps on `batches`
 * (cycled; each must be (batchSize, seqLen)) on the current backend, whose
 * ledger must hold nothing when it starts.
 */
export async function runCombination(settings: MatrixSettings, c: Combination, batches: readonly FixedBatch[], options: RunCombinationOptions = {}): Promise<CombinationRun> {
  checkSettings(settings);
  if (batches.length === 0) throw new Error('runCombination: no batches given');
  batches.forEach((b, i) => {
    if (b.shape[0] !== settings.batchSize || b.shape[1] !== settings.seqLen) {
      throw new Error(`runCombination: batch ${i} has shape (${b.shape.join(', ')}); every batch must be (batchSize ${settings.batchSize}, seqLen ${settings.seqLen})`);
    }
  });
  const name = combinationName(c);
  const before = memoryReport().liveTotal;
  if (before !== 0) throw new Error(`runCombination(${name}): the backend's ledger already holds ${before} bytes; the figures would include them (dispose earlier tensors first)`);

  const { model, frozenMatricesInF16 } = buildStudyModel(settings, c);
  const optimizer = new AdamW(model.trainableParameters(), { lr: settings.lr });
  const scaler = new GradScaler({ enabled: c.mixedPrecision });
  const k = c.accumulation ? settings.accumulate : 1;
  let nextBatch = 0;

  const trainingStep = async (): Promise<{ loss: number; stepped: boolean }> => {
    const window = Array.from({ length: k }, () => batches[nextBatch++ % batches.length]);
    const windowTokens = window.reduce((sum, b) => sum + b.targetTokens, 0);
    let lossSum = 0;
    for (const batch of window) {
      const loss = tidy(() => {
        const ids = tensor(batch.inputIds, batch.shape);
        const labels = tensor(batch.labels, batch.shape);
        const forward = () => microBatchLoss(model.forward(ids), labels, { mode: 'seed', accumulate: k, windowTokens });
        return c.mixedPrecision ? autocast('f16', forward) : forward();
      });
      const scaled = scaler.scale(loss);
      backward(scaled);
      if (scaled !== loss) scaled.dispose();
      const value = await loss.item();
      loss.dispose();
      lossSum += value * k * batch.targetTokens; // seed mode: value = token mean / k
    }
    const stepped = await scaler.step(optimizer);
    await scaler.update();
    optimizer.zeroGrad();
    return { loss: lossSum / windowTokens, stepped };
  };

  try {
    model.train();
    const steps: StepMeasurement[] = [];
    for (let step = 1; step <= settings.steps; step++) {
      resetPeakMemory();
      resetWork();
      const started = performance.now();
      const { loss, stepped } = await trainingStep();
      const ms = performance.now() - started;
      const report = memoryReport();
      const work = workReport();
      steps.push({
        step, ms, peak: peakOf(report), maxByCategory: { ...report.maxByCategory }, liveAfterBytes: report.liveTotal,
        flops: Object.fromEntries(PHASES.map((p) => [p, work.byPhase[p].flops])) as Record<Phase, number>,
        loss, lossScale: c.mixedPrecision ? scaler.getScale() : 1, stepped,
      });
    }
    let timeline: MemoryTimeline | null = null;
    if (options.recordTimeline) {
      resetPeakMemory();
      timeline = await recordMemoryTimeline(() => trainingStep());
    }
    const steady = steps.slice(1);
    const last = steps[steps.length - 1];
    const flopsTotal = PHASES.reduce((sum, p) => sum + last.flops[p], 0);
    const counts = model.parameterCounts();
    const result: CombinationResult = {
      name, combination: c,
      parameters: { total: counts.total, trainable: counts.trainable, frozenMatricesInF16 },
      microBatchesPerStep: k,
      peak: higherPeak(steps),
      maxByCategory: categoryMax(steps),
      firstStepPeak: steps[0].peak,
      steadyStatePeak: higherPeak(steady),
      msPerStep: median(steady.map((s) => s.ms)),
      firstStepMs: steps[0].ms,
      flopsPerStep: { ...last.flops, total: flopsTotal },
      finalLoss: last.loss,
      skippedSteps: steps.filter((s) => !s.stepped).length,
      steps,
      peakWhere: timeline ? (peakLocation(timeline)?.description ?? null) : null,
    };
    return { result, timeline };
  } finally {
    optimizer.dispose();
    scaler.dispose();
    model.dispose();
  }
}
