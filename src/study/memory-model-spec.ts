// What the memory model predicts for: one optimizer step of finetune()'s
// training loop, described by shapes and techniques alone. Shared by the
// predictor (memory-model.ts) and the measurement that checks it
// (memory-model-measure.ts), so both read the same settings.

import { presetArgs, validateModelArgs, PRESET_NAMES, type ModelArgs, type PresetName } from '../nn/model-args.js';
import { CHECKPOINTING_MODES, type CheckpointingMode } from '../nn/transformer.js';
import { PROJECTIONS, type ProjectionName } from '../nn/activation-memory.js';

export interface TrainingMemoryLora {
  r: number;
  alpha: number;
  dropout: number;
  targets: readonly ProjectionName[];
}

/** A fully resolved training setup (every field set). */
export interface TrainingMemorySpec {
  readonly model: ModelArgs;
  /** Records per micro-batch. */
  readonly batchSize: number;
  /** Tokens per record: the padded length of every batch (shapes are fixed). */
  readonly seqLen: number;
  /** Micro-batches per optimizer step. */
  readonly accumulate: number;
  readonly accumulationMode: 'seed' | 'exact';
  readonly checkpointing: CheckpointingMode;
  readonly mixedPrecision: boolean;
  /** Frozen matrices stored in f16 (needs mixedPrecision; changes nothing without frozen matrices). */
  readonly f16Base: boolean;
  readonly lora: TrainingMemoryLora | null;
}

/** What a caller gives: a preset (+ layers, vocab) or ModelArgs, and the techniques; the rest defaults to the seed's. */
export interface TrainingMemoryOptions {
  preset?: PresetName;
  layers?: number;
  /** Overrides the preset's vocabulary (tests use a small one). */
  vocabSize?: number;
  /** Full ModelArgs instead of a preset (wins over preset/layers/vocabSize). */
  model?: ModelArgs;
  batchSize?: number;
  seqLen?: number;
  accumulate?: number;
  accumulationMode?: 'seed' | 'exact';
  checkpointing?: CheckpointingMode;
  mixedPrecision?: boolean;
  f16Base?: boolean;
  /** null/undefined: full fine-tuning; an object: LoRA (missing fields: the seed's r 16, alpha 32, dropout 0.05 on wq, wv). */
  lora?: Partial<TrainingMemoryLora> | null;
}

const positiveInt = (where: string, name: string, v: number) => {
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${where}: ${name} must be a positive integer, got ${v}`);
  return v;
};

/** Fills in defaults and checks every field, naming the bad one. */
export function resolveTrainingMemorySpec(options: TrainingMemoryOptions, where = 'predictTrainingMemory'): TrainingMemorySpec {
  let model: ModelArgs;
  if (options.model) model = validateModelArgs({ ...options.model });
  else {
    const preset = options.preset ?? 'tiny';
    if (!(PRESET_NAMES as readonly string[]).includes(preset)) throw new Error(`${where}: preset must be one of ${PRESET_NAMES.join(', ')}, got '${preset}'`);
    const overrides: Partial<ModelArgs> & { layers?: number } = {};
    if (options.layers !== undefined) overrides.layers = options.layers;
    if (options.vocabSize !== undefined) overrides.vocabSize = positiveInt(where, 'vocabSize', options.vocabSize);
    model = presetArgs(preset, overrides);
  }
  const batchSize = positiveInt(where, 'batchSize', options.batchSize ?? 1);
  const seqLen = positiveInt(where, 'seqLen', options.seqLen ?? 512);
  if (seqLen < 2) throw new Error(`${where}: seqLen must be at least 2 (the causal LM loss compares positions 1.. with 0..), got ${seqLen}`);
  if (seqLen > model.maxSeqLen) throw new Error(`${where}: seqLen ${seqLen} exceeds the model's maxSeqLen ${model.maxSeqLen}`);
  const accumulate = positiveInt(where, 'accumulate', options.accumulate ?? 1);
  const accumulationMode = options.accumulationMode ?? 'seed';
  if (accumulationMode !== 'seed' && accumulationMode !== 'exact') throw new Error(`${where}: accumulationMode must be 'seed' or 'exact', got '${String(accumulationMode)}'`);
  const checkpointing = options.checkpointing ?? 'none';
  if (!(CHECKPOINTING_MODES as readonly string[]).includes(checkpointing)) throw new Error(`${where}: checkpointing must be one of ${CHECKPOINTING_MODES.join(', ')}, got '${checkpointing}'`);
  const mixedPrecision = options.mixedPrecision ?? false;
  const f16Base = options.f16Base ?? false;
  if (f16Base && !mixedPrecision) throw new Error(`${where}: f16Base needs mixedPrecision (as finetune() requires)`);
  let lora: TrainingMemoryLora | null = null;
  if (options.lora) {
    const targets = [...(options.lora.targets ?? ['wq', 'wv'])] as ProjectionName[];
    const bad = targets.filter((t) => !(PROJECTIONS as readonly string[]).includes(t));
    if (targets.length === 0 || bad.length > 0) throw new Error(`${where}: lora.targets must name some of ${PROJECTIONS.join(', ')}, got [${targets.join(', ')}]`);
    const dropout = options.lora.dropout ?? 0.05;
    if (!(dropout >= 0 && dropout < 1)) throw new Error(`${where}: lora.dropout must be in [0, 1), got ${dropout}`);
    const alpha = options.lora.alpha ?? 32;
    if (!Number.isFinite(alpha)) throw new Error(`${where}: lora.alpha must be finite, got ${alpha}`);
    lora = { r: positiveInt(where, 'lora.r', options.lora.r ?? 16), alpha, dropout, targets: [...new Set(targets)] };
  }
  return { model, batchSize, seqLen, accumulate, accumulationMode, checkpointing, mixedPrecision, f16Base, lora };
}

/** A short name for a combination, e.g. "GA4+CK(two-segments)+MP+f16base+LoRA". */
export function describeSpec(spec: TrainingMemorySpec): string {
  const parts: string[] = [];
  if (spec.accumulate > 1) parts.push(`GA${spec.accumulate}${spec.accumulationMode === 'exact' ? '(exact)' : ''}`);
  if (spec.checkpointing !== 'none') parts.push(`CK(${spec.checkpointing})`);
  if (spec.mixedPrecision) parts.push(spec.f16Base ? 'MP+f16base' : 'MP');
  if (spec.lora) parts.push(`LoRA(r${spec.lora.r},${spec.lora.targets.join('/')}${spec.lora.dropout > 0 ? `,p${spec.lora.dropout}` : ''})`);
  return parts.length ? parts.join('+') : 'plain';
}
