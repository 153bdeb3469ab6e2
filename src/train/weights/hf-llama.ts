// Loading a Hugging Face LLaMA directory (config.json plus model.safetensors
// or index-listed shards) into gradlab's Transformer in Meta's layout: names
// mapped, wq / wk rows un-permuted (see hf-rotary-permutation.ts). Every
// name, shape and dtype is checked against the model before anything is
// allocated or written; then tensors stream one by one, in chunks of at most
// `chunkBytes` file bytes (wq / wk chunks rounded to whole heads, at least
// one), straight into the parameters: the host never holds a whole
// checkpoint, nor even a whole tensor when it is larger than a chunk.

import { join } from 'node:path';
import { hiddenDimOf, kvHeadsOf, parameterShapes, type ModelArgs } from '../../nn/model-args.js';
import { LoRALinear } from '../../nn/lora-linear.js';
import { Transformer, type TransformerOptions } from '../../nn/transformer.js';
import type { DType, HostArray } from '../../tensor/dtype.js';
import { formatShape, shapesEqual } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { openHuggingFaceCheckpoint, type HfTensorLocation, type HuggingFaceCheckpoint } from './hf-checkpoint.js';
import { huggingFaceModelArgs, readHuggingFaceLlamaConfig, type HuggingFaceArgsOptions, type HuggingFaceLlamaConfig } from './hf-config.js';
import { hfNameOfMeta, metaNameOfHf, rotaryHeadsOf } from './hf-names.js';
import { permuteRotaryRows } from './hf-rotary-permutation.js';
import { canConvert, SAFETENSORS_BYTES, type SafetensorsDType } from './host-dtypes.js';
import { DEFAULT_CHUNK_BYTES } from './safetensors-reader.js';
import { WeightFileError } from './weight-file-error.js';

export interface LoadHuggingFaceLlamaOptions extends Omit<TransformerOptions, 'init'>, HuggingFaceArgsOptions {
  /** Read at most this many file bytes at a time (default 64 MiB; wq / wk: whole heads, at least one). */
  chunkBytes?: number;
}

export interface LoadHuggingFaceLlamaIntoOptions {
  chunkBytes?: number;
}

/** One checkpoint tensor and the parameters it fills (two for a tied embedding). */
interface LoadStep {
  readonly hfName: string;
  readonly location: HfTensorLocation;
  readonly metaNames: readonly string[];
  /** Heads the rows are permuted in (wq, wk), else null. */
  readonly rotaryHeads: number | null;
}

const FLOAT_FILE_DTYPES = ['F64', 'F32', 'F16', 'BF16'];

/**
 * Matches the checkpoint against the Meta parameters `args` describes (plus
 * the model's dtype) and returns the load plan, or throws one error listing
 * every missing, unexpected, mis-shaped and mis-typed tensor.
 */
function planLoad(ckpt: HuggingFaceCheckpoint, config: HuggingFaceLlamaConfig, args: ModelArgs, dtype: DType): LoadStep[] {
  const expected = new Map<string, { metaNames: string[]; shape: number[] }>();
  for (const [metaName, shape] of parameterShapes(args)) {
    if (metaName === 'output.weight' && config.tie_word_embeddings) {
      // Tied: the embedding fills output.weight too (parameterShapes lists tok_embeddings first).
      expected.get(hfNameOfMeta('tok_embeddings.weight'))!.metaNames.push(metaName);
      continue;
    }
    expected.set(hfNameOfMeta(metaName), { metaNames: [metaName], shape });
  }
  const problems: string[] = [];
  const steps: LoadStep[] = [];
  for (const [hfName, { metaNames, shape }] of expected) {
    const location = ckpt.tensors.get(hfName);
    if (!location) {
      problems.push(`missing tensor '${hfName}' (gradlab's ${metaNames.join(' and ')})`);
      continue;
    }
    const { entry, reader } = location;
    if (!shapesEqual(entry.shape, shape)) {
      problems.push(`${reader.file}: tensor '${hfName}' is ${formatShape(entry.shape)}, but the config makes ${metaNames[0]} ${formatShape(shape)}`);
    } else if (!FLOAT_FILE_DTYPES.includes(entry.dtype) || !canConvert(entry.dtype as SafetensorsDType, dtype)) {
      problems.push(`${reader.file}: tensor '${hfName}' is ${entry.dtype}; weights must be F32, F16 or BF16 (or F64)`);
    } else {
      steps.push({ hfName, location, metaNames, rotaryHeads: rotaryHeadsOf(metaNames[0], args) });
    }
  }
  for (const [hfName, { reader }] of ckpt.tensors) {
    if (expected.has(hfName)) continue;
    // Old conversions saved the rotary inverse frequencies as buffers; gradlab computes its own.
    if (/^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/.test(hfName)) continue;
    const layer = /^model\.layers\.(\d+)\./.exec(hfName);
    const skippedLayer = layer && Number(layer[1]) >= args.nLayers && Number(layer[1]) < config.num_hidden_layers && metaNameOfHf(hfName) !== null;
    if (skippedLayer) continue; // beyond the `layers` limit
    const why = hfName === 'lm_head.weight' && config.tie_word_embeddings ? ' (config.json says tie_word_embeddings: true, so there should be no lm_head)' : '';
    problems.push(`${reader.file}: unexpected tensor '${hfName}'${why}`);
  }
  if (problems.length > 0) {
    throw new WeightFileError(ckpt.listing, `does not fit the LLaMA described by ${join(ckpt.dir, 'config.json')}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  }
  return steps;
}

/** Streams one checkpoint tensor into its parameters, un-permuting wq / wk rows chunk by chunk. */
async function streamStep(step: LoadStep, targets: Tensor[], chunkBytes: number): Promise<void> {
  const { reader, entry } = step.location;
  const dtype = targets[0].dtype;
  for (const t of targets) {
    if (!t.isDense || t.dtype !== dtype) throw new Error(`internal: loading '${step.hfName}' needs dense parameters of one dtype, got ${t.describe()}`);
  }
  let chunk = chunkBytes;
  let headDim = 0;
  const cols = entry.shape[1] ?? 1;
  if (step.rotaryHeads !== null) {
    headDim = entry.shape[0] / step.rotaryHeads;
    const headBytes = headDim * cols * SAFETENSORS_BYTES[entry.dtype as SafetensorsDType];
    chunk = Math.max(1, Math.floor(chunkBytes / headBytes)) * headBytes;
  }
  await reader.stream(step.hfName, dtype, (values: HostArray, at: number) => {
    const meta = step.rotaryHeads === null ? values : permuteRotaryRows(values, cols, headDim, 'toMeta');
    for (const t of targets) if (meta.length > 0) t.context.kernels.write(t.storage.buffer, meta, at);
  }, chunk);
  for (const t of targets) t.storage.version++;
}

async function loadPlanned(model: Transformer, steps: readonly LoadStep[], chunkBytes: number): Promise<void> {
  if (!(chunkBytes >= 1)) throw new Error(`loadHuggingFaceLlama: chunkBytes must be at least 1, got ${chunkBytes}`);
  const params = model.stateDict();
  for (const step of steps) {
    const targets = step.metaNames.map((n) => {
      const p = params.get(n);
      if (!p) throw new Error(`internal: the model has no parameter '${n}'`);
      return p;
    });
    await streamStep(step, targets, chunkBytes);
  }
}

/**
 * Builds a Transformer from a Hugging Face LLaMA directory and streams its
 * weights in. Options: dtype (default f32), checkpointing, `layers` (load only
 * the first blocks), maxSeqLen (default max_position_embeddings), chunkBytes.
 */
export async function loadHuggingFaceLlama(dir: string, options: LoadHuggingFaceLlamaOptions = {}): Promise<{ model: Transformer; config: HuggingFaceLlamaConfig }> {
  const { chunkBytes = DEFAULT_CHUNK_BYTES, layers, maxSeqLen, ...modelOptions } = options;
  const config = await readHuggingFaceLlamaConfig(dir);
  const args = huggingFaceModelArgs(config, { layers, maxSeqLen });
  const ckpt = await openHuggingFaceCheckpoint(dir);
  try {
    const steps = planLoad(ckpt, config, args, modelOptions.dtype ?? 'f32');
    const model = new Transformer(args, { ...modelOptions, init: 'zeros' });
    try {
      await loadPlanned(model, steps, chunkBytes);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return { model, config };
  } finally {
    await ckpt.close();
  }
}

/**
 * Loads a Hugging Face LLaMA directory's weights into an existing model of
 * the same shape (its first nLayers blocks when it has fewer). LoRA factors
 * are left alone; merged LoRA layers are refused (unmerge first).
 */
export async function loadHuggingFaceLlamaInto(model: Transformer, dir: string, options: LoadHuggingFaceLlamaIntoOptions = {}): Promise<HuggingFaceLlamaConfig> {
  const config = await readHuggingFaceLlamaConfig(dir);
  const file = join(dir, 'config.json');
  if (model.args.nLayers > config.num_hidden_layers) {
    throw new WeightFileError(file, `the model has ${model.args.nLayers} layers, the checkpoint only ${config.num_hidden_layers}`);
  }
  const theirs = huggingFaceModelArgs(config, { layers: model.args.nLayers });
  const fields: [string, number, number][] = [
    ['dim (hidden_size)', model.args.dim, theirs.dim],
    ['nHeads (num_attention_heads)', model.args.nHeads, theirs.nHeads],
    ['nKvHeads (num_key_value_heads)', kvHeadsOf(model.args), kvHeadsOf(theirs)],
    ['vocabSize (vocab_size)', model.args.vocabSize, theirs.vocabSize],
    ['FFN hidden size (intermediate_size)', hiddenDimOf(model.args), hiddenDimOf(theirs)],
    ['normEps (rms_norm_eps)', model.args.normEps, theirs.normEps],
    ['ropeTheta (rope_theta)', model.args.ropeTheta ?? 10000, theirs.ropeTheta ?? 10000],
  ];
  const mismatched = fields.filter(([, mine, other]) => mine !== other).map(([name, mine, other]) => `${name}: the model has ${mine}, the checkpoint ${other}`);
  if (mismatched.length > 0) throw new WeightFileError(file, `does not describe this model: ${mismatched.join('; ')}`);
  const merged = model.namedModules().filter(([, m]) => m instanceof LoRALinear && m.merged).map(([path]) => path);
  if (merged.length > 0) throw new Error(`loadHuggingFaceLlamaInto: LoRA is merged into ${merged.join(', ')}; unmerge (model.train()) before loading base weights`);
  const ckpt = await openHuggingFaceCheckpoint(dir);
  try {
    const steps = planLoad(ckpt, config, model.args, model.dtype);
    await loadPlanned(model, steps, options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    return config;
  } finally {
    await ckpt.close();
  }
}
