// `gradlab memory`: the memory model's prediction for one optimizer step of
// `gradlab finetune` with the same technique flags: bytes per category at the
// peak of the first step (no optimizer state yet) and of the steady state,
// each category's own maximum, and where the peak falls. Nothing is
// allocated, so it answers for 7B in a moment. `--matrix` predicts every
// combination (the study's Table 2) and says which must run out of memory on
// a 40 GB and an 80 GB GPU.

import { PRESET_NAMES } from '../nn/model-args.js';
import { CHECKPOINTING_MODES } from '../nn/transformer.js';
import type { ProjectionName } from '../nn/activation-memory.js';
import {
  explainPeak, formatMemoryPrediction, formatPeakExplanation, formatTechniqueMatrix, predictTechniqueMatrix, predictTrainingMemory,
} from '../study/memory-model.js';
import type { TrainingMemoryOptions } from '../study/memory-model-spec.js';
import { integerAtLeast, LORA_TARGETS, loraSpec, SEED_LORA_SPEC, SEED_LORA_TARGETS } from './technique-flags.js';
import { commaList, defineCommand, oneOf, positiveInteger, UsageError, type OptionValues } from './flags.js';

const options = {
  preset: { type: 'string', short: 'p', description: 'model preset', value: oneOf(PRESET_NAMES), default: '7b' },
  layers: { type: 'string', short: 'l', description: "transformer blocks (default: the preset's)", value: positiveInteger() },
  'vocab-size': { type: 'string', description: "vocabulary size (default: the preset's, 32000)", value: integerAtLeast(2) },
  'seq-len': { type: 'string', description: 'tokens per record: every batch padded to exactly this', value: integerAtLeast(2), default: '512' },
  'batch-size': { type: 'string', description: 'records per micro-batch', value: positiveInteger(), default: '1' },
  accumulate: { type: 'string', short: 'k', description: 'gradient accumulation: micro-batches per optimizer step (with --matrix: the GA rows\' k, default 8)', value: positiveInteger() },
  exact: { type: 'boolean', description: 'exact accumulation (token-count normalization; its loss is a sum, so it saves no label count)' },
  checkpointing: { type: 'string', short: 'c', description: "gradient checkpointing: 'block' or 'two-segments' (the seed's; with --matrix: the CK rows' mode)", value: oneOf(CHECKPOINTING_MODES), default: 'none' },
  'mixed-precision': { type: 'boolean', short: 'm', description: 'autocast f16 with a GradScaler' },
  'f16-base': { type: 'boolean', description: 'frozen weights stored in f16 (needs --mixed-precision)' },
  lora: { type: 'string', description: "LoRA on --lora-targets: rank, alpha, dropout (bare --lora: the seed's 16,32,0.05)", value: loraSpec(), bareValue: SEED_LORA_SPEC },
  'lora-targets': { type: 'string', description: 'projections to adapt (default wq,wv)', value: commaList(oneOf(LORA_TARGETS), { minItems: 1, unique: true }) },
  explain: { type: 'boolean', description: 'also list what the peak is made of: the live storages grouped by the op and module that made them' },
  matrix: { type: 'boolean', description: 'predict all 16 combinations (+ f16-base variants) as a Markdown table, with 40 GiB / 80 GiB verdicts' },
  json: { type: 'boolean', description: 'print the prediction as JSON' },
} as const;

export type MemoryFlags = OptionValues<typeof options>;

export function memoryOptionsFromFlags(f: MemoryFlags): TrainingMemoryOptions {
  if (f['lora-targets'] && !f.lora) throw new UsageError('--lora-targets needs --lora', 'memory');
  if (f['f16-base'] && !f['mixed-precision']) throw new UsageError('--f16-base needs --mixed-precision (frozen f16 weights are used directly only under autocast)', 'memory');
  return {
    preset: f.preset,
    ...(f.layers !== undefined ? { layers: f.layers } : {}),
    ...(f['vocab-size'] !== undefined ? { vocabSize: f['vocab-size'] } : {}),
    batchSize: f['batch-size'],
    seqLen: f['seq-len'],
    accumulate: f.accumulate ?? 1,
    accumulationMode: f.exact ? 'exact' : 'seed',
    checkpointing: f.checkpointing,
    mixedPrecision: f['mixed-precision'],
    f16Base: f['f16-base'],
    lora: f.lora ? { ...f.lora, targets: (f['lora-targets'] ?? [...SEED_LORA_TARGETS]) as ProjectionName[] } : null,
  };
}

export const memoryCommand = defineCommand({
  name: 'memory',
  summary: 'predict the memory of a fine-tuning step from shapes alone: each category at the peak, first-step and steady peaks, where the peak falls',
  description: 'Runs the memory model (docs/memory-model.md): one optimizer step of `gradlab finetune` with the same technique flags, ' +
    'simulated from shapes without allocating, exact to the byte against the memory ledger on the CPU backend. ' +
    'Figures are logical tensor bytes (no allocator rounding or CUDA context). --matrix predicts every combination.',
  options,
  examples: [
    'gradlab memory --preset 7b --layers 32 --seq-len 512 --batch-size 1',
    'gradlab memory --preset 7b --layers 32 --lora --mixed-precision --explain',
    'gradlab memory --preset 7b --layers 32 --lora --mixed-precision --f16-base --checkpointing two-segments --accumulate 8',
    'gradlab memory --preset 7b --layers 8 --matrix',
  ],
  async run(f) {
    const base = memoryOptionsFromFlags(f);
    if (f.matrix) {
      const rows = predictTechniqueMatrix({ ...base, accumulate: 1, checkpointing: 'none', mixedPrecision: false, f16Base: false }, {
        accumulate: f.accumulate ?? 8,
        checkpointing: f.checkpointing === 'block' ? 'block' : 'two-segments',
      });
      if (f.json) console.log(JSON.stringify(rows, null, 2));
      else console.log(formatTechniqueMatrix(rows));
      return 0;
    }
    const prediction = predictTrainingMemory(base);
    const explanation = f.explain ? explainPeak(base) : null;
    if (f.json) console.log(JSON.stringify(explanation ? { ...prediction, explanation } : prediction, null, 2));
    else console.log(explanation ? `${formatMemoryPrediction(prediction)}\n\n${formatPeakExplanation(explanation)}` : formatMemoryPrediction(prediction));
    return 0;
  },
});
