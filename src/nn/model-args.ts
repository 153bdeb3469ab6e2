// LLaMA-2 hyper-parameters (Meta's ModelArgs), presets, and the exact
// parameter shapes and counts derived from them without allocating anything.

export interface ModelArgs {
  dim: number;
  nLayers: number;
  nHeads: number;
  /** Key/value heads for grouped-query attention; nHeads when unset. */
  nKvHeads?: number;
  vocabSize: number;
  /** The SwiGLU hidden size is rounded up to a multiple of this. */
  multipleOf: number;
  ffnDimMultiplier?: number;
  normEps: number;
  maxSeqLen: number;
  /** **beyond** Meta: an explicit FFN hidden size (llama2.c's files carry one); overrides the rule. */
  hiddenDim?: number;
  /** Rotary base (Meta: 10000). */
  ropeTheta?: number;
}

/** Meta's ModelArgs defaults (llama/model.py). */
export const DEFAULT_MODEL_ARGS: ModelArgs = {
  dim: 4096,
  nLayers: 32,
  nHeads: 32,
  vocabSize: 32000,
  multipleOf: 256,
  normEps: 1e-5,
  maxSeqLen: 2048,
};

export const PRESET_NAMES = ['tiny', 'stories15M', '7b', '13b'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

const PRESETS: Record<PresetName, ModelArgs> = {
  // Small enough for a CPU step in well under a second, with GQA, and the LLaMA tokenizer's vocabulary.
  tiny: { ...DEFAULT_MODEL_ARGS, dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, multipleOf: 32, maxSeqLen: 512 },
  // Karpathy's llama2.c TinyStories 15M: dim 288, 6 layers, 6 heads, hidden 768, seq 256.
  stories15M: { ...DEFAULT_MODEL_ARGS, dim: 288, nLayers: 6, nHeads: 6, nKvHeads: 6, multipleOf: 32, maxSeqLen: 256 },
  '7b': { ...DEFAULT_MODEL_ARGS },
  '13b': { ...DEFAULT_MODEL_ARGS, dim: 5120, nLayers: 40, nHeads: 40 },
};

/** A preset's ModelArgs with overrides (`layers` is a shorthand for nLayers: the seed ran 1, 8 and 32). */
export function presetArgs(name: PresetName, overrides: Partial<ModelArgs> & { layers?: number } = {}): ModelArgs {
  const base = PRESETS[name];
  if (!base) throw new Error(`unknown model preset '${name}'; expected one of ${PRESET_NAMES.join(', ')}`);
  const { layers, ...rest } = overrides;
  return validateModelArgs({ ...base, ...rest, ...(layers !== undefined ? { nLayers: layers } : {}) });
}

/** Meta's ModelArgs with its defaults filled in for the fields not given. */
export function modelArgs(args: Partial<ModelArgs> = {}): ModelArgs {
  return validateModelArgs({ ...DEFAULT_MODEL_ARGS, ...args });
}

export function validateModelArgs(args: ModelArgs): ModelArgs {
  const bad = (why: string) => { throw new Error(`ModelArgs: ${why} (got ${JSON.stringify(args)})`); };
  const positiveInt = (name: keyof ModelArgs) => {
    const v = args[name];
    if (!Number.isInteger(v) || (v as number) <= 0) bad(`${name} must be a positive integer`);
  };
  (['dim', 'nHeads', 'vocabSize', 'multipleOf', 'maxSeqLen'] as const).forEach(positiveInt);
  if (!Number.isInteger(args.nLayers) || args.nLayers < 0) bad('nLayers must be a non-negative integer');
  if (args.dim % args.nHeads !== 0) bad(`dim ${args.dim} is not divisible by nHeads ${args.nHeads}`);
  if ((args.dim / args.nHeads) % 2 !== 0) bad(`the head dimension ${args.dim / args.nHeads} must be even for rotary embeddings`);
  const kv = kvHeadsOf(args);
  if (!Number.isInteger(kv) || kv <= 0 || args.nHeads % kv !== 0) bad(`nHeads ${args.nHeads} must be a multiple of nKvHeads ${kv}`);
  if (!(args.normEps > 0)) bad('normEps must be positive');
  if (args.hiddenDim !== undefined && (!Number.isInteger(args.hiddenDim) || args.hiddenDim <= 0)) bad('hiddenDim must be a positive integer');
  if (args.ffnDimMultiplier !== undefined && !(args.ffnDimMultiplier > 0)) bad('ffnDimMultiplier must be positive');
  // theta <= 0 (or NaN) makes every rotary frequency NaN, hence all-NaN logits.
  if (args.ropeTheta !== undefined && !(Number.isFinite(args.ropeTheta) && args.ropeTheta > 0)) bad(`ropeTheta must be a finite number > 0 (Meta: 10000), got ${args.ropeTheta}`);
  return args;
}

export const kvHeadsOf = (args: ModelArgs): number => args.nKvHeads ?? args.nHeads;
export const headDimOf = (args: ModelArgs): number => args.dim / args.nHeads;

/**
 * Meta's FeedForward hidden size: hidden = int(2 * (4 * dim) / 3), times
 * ffn_dim_multiplier if set (int() again), rounded up to a multiple of
 * multiple_of. 7B: 11008; 13B: 13824; 70B (multiplier 1.3, multiple_of 4096): 28672.
 */
export function ffnHiddenDim(dim: number, multipleOf: number, ffnDimMultiplier?: number): number {
  let hidden = Math.trunc((2 * (4 * dim)) / 3);
  if (ffnDimMultiplier !== undefined) hidden = Math.trunc(ffnDimMultiplier * hidden);
  return multipleOf * Math.ceil(hidden / multipleOf);
}

export function hiddenDimOf(args: ModelArgs): number {
  return args.hiddenDim ?? ffnHiddenDim(args.dim, args.multipleOf, args.ffnDimMultiplier);
}

/** Every parameter's Meta name and shape, in the order a Transformer registers them. */
export function parameterShapes(args: ModelArgs): Map<string, number[]> {
  validateModelArgs(args);
  const { dim, vocabSize } = args;
  const hd = headDimOf(args);
  const kvDim = kvHeadsOf(args) * hd;
  const hidden = hiddenDimOf(args);
  const shapes = new Map<string, number[]>();
  shapes.set('tok_embeddings.weight', [vocabSize, dim]);
  for (let i = 0; i < args.nLayers; i++) {
    const p = `layers.${i}`;
    shapes.set(`${p}.attention.wq.weight`, [args.nHeads * hd, dim]);
    shapes.set(`${p}.attention.wk.weight`, [kvDim, dim]);
    shapes.set(`${p}.attention.wv.weight`, [kvDim, dim]);
    shapes.set(`${p}.attention.wo.weight`, [dim, args.nHeads * hd]);
    shapes.set(`${p}.feed_forward.w1.weight`, [hidden, dim]);
    shapes.set(`${p}.feed_forward.w2.weight`, [dim, hidden]);
    shapes.set(`${p}.feed_forward.w3.weight`, [hidden, dim]);
    shapes.set(`${p}.attention_norm.weight`, [dim]);
    shapes.set(`${p}.ffn_norm.weight`, [dim]);
  }
  shapes.set('norm.weight', [dim]);
  shapes.set('output.weight', [vocabSize, dim]);
  return shapes;
}

/** The number of parameters of a model (7b: 6,738,415,616), from shapes alone. */
export function countParameters(args: ModelArgs): number {
  let total = 0;
  for (const shape of parameterShapes(args).values()) total += shape.reduce((a, b) => a * b, 1);
  return total;
}
