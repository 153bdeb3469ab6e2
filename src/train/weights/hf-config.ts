// A Hugging Face LLaMA config.json as gradlab ModelArgs. The FFN size comes
// from intermediate_size: when Meta's rule (multiple_of 256, no multiplier)
// gives the same number (LLaMA-2 7B: 11008, TinyLlama: 5632) the args stay
// Meta's; otherwise it is carried as ModelArgs' explicit hiddenDim (OpenLLaMA
// 3B: 8640 where the rule gives 8704). Features gradlab's Transformer lacks
// (rope scaling, biases, other activations) are refused by name rather than
// silently computed differently.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ffnHiddenDim, validateModelArgs, type ModelArgs } from '../../nn/model-args.js';
import { WeightFileError } from './weight-file-error.js';

/** The config.json fields gradlab reads, with LlamaConfig's defaults filled in. */
export interface HuggingFaceLlamaConfig {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  rms_norm_eps: number;
  vocab_size: number;
  max_position_embeddings: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
  /** The checkpoint's own dtype ("float16", "bfloat16", ...), informational. */
  torch_dtype: string | null;
}

// transformers' LlamaConfig defaults, for fields a config.json may omit.
const DEFAULTS = { rms_norm_eps: 1e-6, vocab_size: 32000, max_position_embeddings: 2048, rope_theta: 10000, tie_word_embeddings: false };

/** Meta's multiple_of for LLaMA-1/2; intermediate sizes it reproduces need no explicit hiddenDim. */
const META_MULTIPLE_OF = 256;

/** Parses and validates a config object; `file` names it in errors. */
export function parseHuggingFaceLlamaConfig(json: unknown, file: string): HuggingFaceLlamaConfig {
  const fail = (problem: string): never => { throw new WeightFileError(file, `not a usable LLaMA config: ${problem}`); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail('config.json must hold a JSON object');
  const c = json as Record<string, unknown>;
  const positiveInt = (field: string, fallback?: number): number => {
    const v = c[field] ?? fallback;
    if (v === undefined) return fail(`field '${field}' is missing`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) return fail(`field '${field}' must be a positive integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const positive = (field: string, fallback: number): number => {
    const v = c[field] ?? fallback;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) return fail(`field '${field}' must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const refuse = (field: string, ok: (v: unknown) => boolean, why: string) => {
    if (field in c && !ok(c[field])) fail(`field '${field}' is ${JSON.stringify(c[field])}: ${why}`);
  };
  refuse('model_type', (v) => v === 'llama', "gradlab loads model_type 'llama' only");
  refuse('hidden_act', (v) => v === 'silu', "gradlab's FeedForward is SwiGLU with silu");
  refuse('rope_scaling', (v) => v === null, "gradlab's rotary embedding has no scaling (LLaMA-2 checkpoints have rope_scaling null)");
  refuse('attention_bias', (v) => v === false, "gradlab's attention projections have no bias");
  refuse('mlp_bias', (v) => v === false, "gradlab's FeedForward projections have no bias");

  const hidden = positiveInt('hidden_size');
  const heads = positiveInt('num_attention_heads');
  const kvHeads = positiveInt('num_key_value_heads', heads);
  if (hidden % heads !== 0) fail(`hidden_size ${hidden} is not divisible by num_attention_heads ${heads}`);
  refuse('head_dim', (v) => v === null || v === hidden / heads, `gradlab's head size is hidden_size / num_attention_heads = ${hidden / heads}`);
  if (heads % kvHeads !== 0) fail(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  const tie = c.tie_word_embeddings ?? DEFAULTS.tie_word_embeddings;
  if (typeof tie !== 'boolean') fail(`field 'tie_word_embeddings' must be true or false, got ${JSON.stringify(tie)}`);
  const dtype = c.torch_dtype ?? null;
  return {
    hidden_size: hidden,
    intermediate_size: positiveInt('intermediate_size'),
    num_hidden_layers: positiveInt('num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    rms_norm_eps: positive('rms_norm_eps', DEFAULTS.rms_norm_eps),
    vocab_size: positiveInt('vocab_size', DEFAULTS.vocab_size),
    max_position_embeddings: positiveInt('max_position_embeddings', DEFAULTS.max_position_embeddings),
    rope_theta: positive('rope_theta', DEFAULTS.rope_theta),
    tie_word_embeddings: tie as boolean,
    torch_dtype: typeof dtype === 'string' ? dtype : null,
  };
}

/** Reads `dir`/config.json. */
export async function readHuggingFaceLlamaConfig(dir: string): Promise<HuggingFaceLlamaConfig> {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new WeightFileError(file, `cannot read the model config: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new WeightFileError(file, `config.json is not valid JSON (${(err as Error).message})`);
  }
  return parseHuggingFaceLlamaConfig(json, file);
}

export interface HuggingFaceArgsOptions {
  /** Load only the first `layers` blocks (the seed measured 1, 8 and 32). */
  layers?: number;
  /** Overrides max_position_embeddings (gradlab precomputes rotary tables for 2 x maxSeqLen positions). */
  maxSeqLen?: number;
}

/** ModelArgs for a config: Meta's FFN rule when it reproduces intermediate_size, else an explicit hiddenDim. */
export function huggingFaceModelArgs(config: HuggingFaceLlamaConfig, options: HuggingFaceArgsOptions = {}): ModelArgs {
  const { layers = config.num_hidden_layers, maxSeqLen = config.max_position_embeddings } = options;
  if (!Number.isInteger(layers) || layers < 0 || layers > config.num_hidden_layers) {
    throw new Error(`huggingFaceModelArgs: layers must be an integer in [0, ${config.num_hidden_layers}] (num_hidden_layers), got ${layers}`);
  }
  const metaRule = ffnHiddenDim(config.hidden_size, META_MULTIPLE_OF) === config.intermediate_size;
  return validateModelArgs({
    dim: config.hidden_size,
    nLayers: layers,
    nHeads: config.num_attention_heads,
    nKvHeads: config.num_key_value_heads,
    vocabSize: config.vocab_size,
    multipleOf: META_MULTIPLE_OF,
    ...(metaRule ? {} : { hiddenDim: config.intermediate_size }),
    normEps: config.rms_norm_eps,
    maxSeqLen,
    ropeTheta: config.rope_theta,
  });
}
