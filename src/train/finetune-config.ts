// What a fine-tuning run is: every option of `gradlab finetune` / finetune(),
// with defaults filled in and every value checked before anything allocates.
// The resolved config is saved with each checkpoint, so a resume can refuse a
// run that would not continue the same training.

import { CHECKPOINTING_MODES, type CheckpointingMode } from '../nn/transformer.js';
import { PRESET_NAMES, type PresetName } from '../nn/model-args.js';
import { DEFAULT_LORA } from '../nn/lora.js';

/** How micro-batch losses are normalized under gradient accumulation. */
export type AccumulationMode = 'seed' | 'exact';

export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  targets: string[];
}

export interface FinetuneOptions {
  /** A preset model ('tiny' default), randomly initialized from `seed` unless `weights` is given. */
  preset?: PresetName;
  /**
   * Pretrained weights: a llama2.c `.bin`, a Hugging Face LLaMA directory, or a gradlab
   * `.safetensors` state dict (whose shapes come from `preset` and `layers`).
   */
  weights?: string;
  /** Number of transformer blocks (a preset's own count by default). */
  layers?: number;
  /** A backend spec ('cpu', 'webgpu', ...) or 'auto' (default: the best one found). */
  backend?: string;
  batchSize?: number;
  /** model_max_length: examples are truncated to it. */
  maxSeqLen?: number;
  epochs?: number;
  /** Use only the first N training records. */
  maxSamples?: number;
  lr?: number;
  weightDecay?: number;
  seed?: number;
  /** Micro-batches per optimizer step (gradient accumulation); 1 = off. */
  accumulate?: number;
  /** 'seed': loss / k per micro-batch; 'exact': token-count normalization over the window. */
  accumulationMode?: AccumulationMode;
  checkpointing?: CheckpointingMode;
  mixedPrecision?: boolean;
  /** Store frozen matrices in f16 (needs mixedPrecision; only frozen weights change). */
  f16Base?: boolean;
  /** LoRA on `targets` (null/undefined = full fine-tuning). */
  lora?: Partial<LoraConfig> | null;
  /** Training data (Alpaca JSON); the embedded default set when absent. */
  data?: string;
  /** Held-out data for evaluation; the embedded eval split when absent (and no `data` given). */
  evalData?: string;
  /** Records evaluated before and after training (0 turns evaluation off). */
  evalSamples?: number;
  /** Max new tokens for the exact-match generations. */
  maxNewTokens?: number;
  /** llama2.c tokenizer `.bin` for models with their own vocabulary (e.g. stories260K + tok512.bin). */
  tokenizer?: string;
  /** Directory for checkpoints (weights or adapter, optimizer, scaler, data order, RNG). */
  save?: string;
  /** Save every N optimizer steps (and at the end); default: only at the end. */
  saveEvery?: number;
  /** Continue a run saved in this directory. */
  resume?: string;
  /** Stop after this many optimizer steps in total (for tests and kill-and-resume). */
  maxSteps?: number;
  /** Record the memory timeline of the first optimizer step (returned in the result). */
  recordTimeline?: boolean;
}

export interface FinetuneConfig {
  preset: PresetName;
  weights: string | null;
  layers: number | null;
  backend: string;
  batchSize: number;
  maxSeqLen: number;
  epochs: number;
  maxSamples: number | null;
  lr: number;
  weightDecay: number;
  seed: number;
  accumulate: number;
  accumulationMode: AccumulationMode;
  checkpointing: CheckpointingMode;
  mixedPrecision: boolean;
  f16Base: boolean;
  lora: LoraConfig | null;
  data: string | null;
  evalData: string | null;
  evalSamples: number;
  maxNewTokens: number;
  tokenizer: string | null;
  save: string | null;
  saveEvery: number | null;
  resume: string | null;
  maxSteps: number | null;
  recordTimeline: boolean;
}

/** The settings that must match for a resumed run to continue the same training. */
export const RESUME_SENSITIVE_KEYS = [
  'preset', 'weights', 'layers', 'batchSize', 'maxSeqLen', 'epochs', 'maxSamples', 'lr', 'weightDecay', 'seed',
  'accumulate', 'accumulationMode', 'checkpointing', 'mixedPrecision', 'f16Base', 'lora', 'data', 'tokenizer',
] as const satisfies readonly (keyof FinetuneConfig)[];

function integerAtLeast(name: string, value: number | undefined, min: number, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) throw new Error(`finetune: ${name} must be an integer >= ${min}, got ${value}`);
  return v;
}

function positiveFinite(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) throw new Error(`finetune: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} finite number, got ${value}`);
  return v;
}

const LORA_TARGETS = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'];

export function resolveFinetuneConfig(options: FinetuneOptions = {}): FinetuneConfig {
  const known = new Set<string>(['preset', 'weights', 'layers', 'backend', 'batchSize', 'maxSeqLen', 'epochs', 'maxSamples', 'lr', 'weightDecay', 'seed',
    'accumulate', 'accumulationMode', 'checkpointing', 'mixedPrecision', 'f16Base', 'lora', 'data', 'evalData', 'evalSamples', 'maxNewTokens',
    'tokenizer', 'save', 'saveEvery', 'resume', 'maxSteps', 'recordTimeline']);
  for (const key of Object.keys(options)) if (!known.has(key)) throw new Error(`finetune: unknown option '${key}'`);
  const preset = options.preset ?? 'tiny';
  if (!(PRESET_NAMES as readonly string[]).includes(preset)) throw new Error(`finetune: preset must be one of ${PRESET_NAMES.join(', ')}, got '${preset}'`);
  const checkpointing = options.checkpointing ?? 'none';
  if (!(CHECKPOINTING_MODES as readonly string[]).includes(checkpointing)) {
    throw new Error(`finetune: checkpointing must be one of ${CHECKPOINTING_MODES.join(', ')}, got '${checkpointing}'`);
  }
  const accumulationMode = options.accumulationMode ?? 'seed';
  if (accumulationMode !== 'seed' && accumulationMode !== 'exact') throw new Error(`finetune: accumulationMode must be 'seed' or 'exact', got '${accumulationMode}'`);
  const mixedPrecision = options.mixedPrecision ?? false;
  const f16Base = options.f16Base ?? false;
  if (f16Base && !mixedPrecision) {
    throw new Error('finetune: f16Base stores frozen weights in f16 for autocast to use directly; it needs mixedPrecision (without autocast every use would cast them back to f32)');
  }
  let lora: LoraConfig | null = null;
  if (options.lora) {
    lora = {
      r: integerAtLeast('lora.r', options.lora.r, 1, DEFAULT_LORA.r),
      alpha: positiveFinite('lora.alpha', options.lora.alpha, DEFAULT_LORA.alpha),
      dropout: options.lora.dropout ?? DEFAULT_LORA.dropout,
      targets: [...(options.lora.targets ?? DEFAULT_LORA.targets)],
    };
    if (!(lora.dropout >= 0 && lora.dropout < 1)) throw new Error(`finetune: lora.dropout must be in [0, 1), got ${lora.dropout}`);
    if (lora.targets.length === 0) throw new Error('finetune: lora.targets must name at least one projection');
    const bad = lora.targets.filter((t) => !LORA_TARGETS.includes(t));
    if (bad.length > 0) throw new Error(`finetune: unknown LoRA target(s) ${bad.join(', ')}; expected some of ${LORA_TARGETS.join(', ')}`);
  }
  const nullableInt = (name: string, v: number | undefined, min: number) => (v === undefined ? null : integerAtLeast(name, v, min, 0));
  return {
    preset,
    weights: options.weights ?? null,
    layers: nullableInt('layers', options.layers, 1),
    backend: options.backend ?? 'auto',
    batchSize: integerAtLeast('batchSize', options.batchSize, 1, 8),
    maxSeqLen: integerAtLeast('maxSeqLen', options.maxSeqLen, 2, 256),
    epochs: integerAtLeast('epochs', options.epochs, 1, 1),
    maxSamples: nullableInt('maxSamples', options.maxSamples, 1),
    lr: positiveFinite('lr', options.lr, 1e-3, true),
    weightDecay: positiveFinite('weightDecay', options.weightDecay, 1e-2, true),
    seed: integerAtLeast('seed', options.seed, 0, 0),
    accumulate: integerAtLeast('accumulate', options.accumulate, 1, 1),
    accumulationMode,
    checkpointing,
    mixedPrecision,
    f16Base,
    lora,
    data: options.data ?? null,
    evalData: options.evalData ?? null,
    evalSamples: integerAtLeast('evalSamples', options.evalSamples, 0, 20),
    maxNewTokens: integerAtLeast('maxNewTokens', options.maxNewTokens, 1, 12),
    tokenizer: options.tokenizer ?? null,
    save: options.save ?? null,
    saveEvery: nullableInt('saveEvery', options.saveEvery, 1),
    resume: options.resume ?? null,
    maxSteps: nullableInt('maxSteps', options.maxSteps, 1),
    recordTimeline: options.recordTimeline ?? false,
  };
}

/** The technique set of a run, in words ("LoRA r16 + mixed precision + ..."). */
export function describeTechniques(c: FinetuneConfig): string {
  const parts: string[] = [];
  parts.push(c.lora ? `LoRA r${c.lora.r} alpha ${c.lora.alpha} on ${c.lora.targets.join(',')}` : 'full fine-tuning');
  if (c.accumulate > 1) parts.push(`gradient accumulation x${c.accumulate} (${c.accumulationMode})`);
  if (c.checkpointing !== 'none') parts.push(`checkpointing (${c.checkpointing})`);
  if (c.mixedPrecision) parts.push(`mixed precision f16${c.f16Base ? ' with f16 frozen base' : ''}`);
  return parts.join(' + ');
}
