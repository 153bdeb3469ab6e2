// The memory model (memory-model.ts) asked about exactly what the matrix
// measured: the same model, batch shape and technique settings per
// combination. Beside the measured figures this gives the predicted vs
// measured points and, at 7B, the cells a GPU cannot run.

import { MEMORY_CATEGORIES, type MemoryCategory } from '../tensor/memory-ledger.js';
import type { PredictedVsMeasuredPoint } from './charts.js';
import type { Combination } from './matrix-combinations.js';
import type { MatrixResult } from './matrix.js';
import type { MatrixSettings } from './matrix-runner.js';
import { predictTrainingMemory, type TrainingMemoryPrediction } from './memory-model.js';
import type { TrainingMemoryOptions } from './memory-model-spec.js';
import type { ProjectionName } from '../nn/activation-memory.js';

/** The memory model's options for one combination of a matrix's settings. */
export function predictionOptions(settings: MatrixSettings, c: Combination): TrainingMemoryOptions {
  return {
    preset: settings.preset,
    ...(settings.layers !== null ? { layers: settings.layers } : {}),
    ...(settings.vocabSize !== null ? { vocabSize: settings.vocabSize } : {}),
    batchSize: settings.batchSize,
    seqLen: settings.seqLen,
    accumulate: c.accumulation ? settings.accumulate : 1,
    accumulationMode: 'seed',
    checkpointing: c.checkpointing ? settings.checkpointingMode : 'none',
    mixedPrecision: c.mixedPrecision,
    f16Base: c.f16Base,
    lora: c.lora ? { ...settings.lora, targets: settings.lora.targets as ProjectionName[] } : null,
  };
}

export function predictCombination(settings: MatrixSettings, c: Combination): TrainingMemoryPrediction {
  return predictTrainingMemory(predictionOptions(settings, c));
}

export interface PredictionCheck {
  readonly name: string;
  readonly predictedPeak: number;
  readonly measuredPeak: number;
  /** measured - predicted, per category at the peak (all zero when the model is exact). */
  readonly residualAtPeak: Record<MemoryCategory, number>;
  readonly predictedWhere: string | null;
  readonly measuredWhere: string | null;
}

/** Every combination of a matrix against the model's prediction for it. */
export function checkPredictions(matrix: MatrixResult): PredictionCheck[] {
  return matrix.combinations.map((r) => {
    const p = predictCombination(matrix.settings, r.combination);
    return {
      name: r.name,
      predictedPeak: p.peakTotal,
      measuredPeak: r.peak.totalBytes,
      residualAtPeak: Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, r.peak.byCategory[c] - p.peak[c]])) as Record<MemoryCategory, number>,
      predictedWhere: p.steadyState.location?.description ?? null,
      measuredWhere: r.peakWhere,
    };
  });
}

/** One point per combination (peak totals) for predictedVsMeasuredChart. */
export function predictedVsMeasuredPoints(checks: readonly PredictionCheck[]): PredictedVsMeasuredPoint[] {
  return checks.map((c) => ({ label: c.name, predictedBytes: c.predictedPeak, measuredBytes: c.measuredPeak }));
}

/** Markdown: predicted and measured peaks, the residual per category, and where each says the peak is. */
export function predictionChecksMarkdown(checks: readonly PredictionCheck[]): string {
  const lines = ['| combination | predicted peak (B) | measured peak (B) | residual at the peak | predicted place (steady state) | measured place (steady state) |', '|---|---|---|---|---|---|'];
  for (const c of checks) {
    const residual = MEMORY_CATEGORIES.filter((k) => c.residualAtPeak[k] !== 0).map((k) => `${k} ${c.residualAtPeak[k] > 0 ? '+' : ''}${c.residualAtPeak[k]}`);
    lines.push(`| ${c.name} | ${c.predictedPeak} | ${c.measuredPeak} | ${residual.length ? residual.join(', ') : 'none: exact'} | ${c.predictedWhere ?? ''} | ${c.measuredWhere ?? ''} |`);
  }
  return lines.join('\n');
}
