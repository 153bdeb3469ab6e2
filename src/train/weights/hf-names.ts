// Parameter names: Hugging Face's LlamaForCausalLM <-> Meta's (gradlab's),
// and which weights carry the rotary row permutation. Projections are named
// q/k/v/o_proj and gate/up/down_proj in HF (and in PEFT's target_modules),
// wq/wk/wv/wo and w1/w3/w2 in Meta's layout.

import { kvHeadsOf, type ModelArgs } from '../../nn/model-args.js';

/** HF module name -> the Meta Linear it is. */
export const HF_TO_META_PROJECTION = {
  q_proj: 'wq', k_proj: 'wk', v_proj: 'wv', o_proj: 'wo', gate_proj: 'w1', up_proj: 'w3', down_proj: 'w2', lm_head: 'output',
} as const;
export type HfProjection = keyof typeof HF_TO_META_PROJECTION;
export type MetaProjection = (typeof HF_TO_META_PROJECTION)[HfProjection];

export const META_TO_HF_PROJECTION = Object.fromEntries(
  Object.entries(HF_TO_META_PROJECTION).map(([hf, meta]) => [meta, hf]),
) as Record<MetaProjection, HfProjection>;

/** The seven per-layer projections (PEFT's "all-linear" on a LlamaForCausalLM). */
export const HF_LAYER_PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

const LAYER_RULES: [RegExp, (i: string, m: string) => string][] = [
  [/^model\.layers\.(\d+)\.self_attn\.(q|k|v|o)_proj\.weight$/, (i, m) => `layers.${i}.attention.w${m}.weight`],
  [/^model\.layers\.(\d+)\.mlp\.(gate|down|up)_proj\.weight$/, (i, m) => `layers.${i}.feed_forward.${({ gate: 'w1', down: 'w2', up: 'w3' } as Record<string, string>)[m]}.weight`],
  [/^model\.layers\.(\d+)\.input_layernorm\.weight$/, (i) => `layers.${i}.attention_norm.weight`],
  [/^model\.layers\.(\d+)\.post_attention_layernorm\.weight$/, (i) => `layers.${i}.ffn_norm.weight`],
];
const GLOBAL_NAMES: Record<string, string> = {
  'model.embed_tokens.weight': 'tok_embeddings.weight',
  'model.norm.weight': 'norm.weight',
  'lm_head.weight': 'output.weight',
};

/** The Meta name of an HF weight, or null for a name that is not a LlamaForCausalLM weight. */
export function metaNameOfHf(hfName: string): string | null {
  if (Object.hasOwn(GLOBAL_NAMES, hfName)) return GLOBAL_NAMES[hfName]; // own keys: a weight named "toString" is not ours
  for (const [pattern, build] of LAYER_RULES) {
    const m = pattern.exec(hfName);
    if (m) return build(m[1], m[2]);
  }
  return null;
}

const META_GLOBAL_TO_HF = Object.fromEntries(Object.entries(GLOBAL_NAMES).map(([hf, meta]) => [meta, hf]));

/** The HF name of a Meta weight (any module path of a Transformer: 'layers.3.attention.wq.weight'). */
export function hfNameOfMeta(metaName: string): string {
  if (Object.hasOwn(META_GLOBAL_TO_HF, metaName)) return META_GLOBAL_TO_HF[metaName];
  const m = /^layers\.(\d+)\.(.+)$/.exec(metaName);
  if (m) {
    const [, i, rest] = m;
    const attn = /^attention\.(wq|wk|wv|wo)\.weight$/.exec(rest);
    if (attn) return `model.layers.${i}.self_attn.${META_TO_HF_PROJECTION[attn[1] as MetaProjection]}.weight`;
    const ffn = /^feed_forward\.(w1|w2|w3)\.weight$/.exec(rest);
    if (ffn) return `model.layers.${i}.mlp.${META_TO_HF_PROJECTION[ffn[1] as MetaProjection]}.weight`;
    if (rest === 'attention_norm.weight') return `model.layers.${i}.input_layernorm.weight`;
    if (rest === 'ffn_norm.weight') return `model.layers.${i}.post_attention_layernorm.weight`;
  }
  throw new Error(`no Hugging Face name for the Meta parameter '${metaName}'`);
}

/** The HF module path of a Meta module path ('layers.0.attention.wq' -> 'model.layers.0.self_attn.q_proj'). */
export function hfModuleOfMeta(metaModule: string): string {
  return hfNameOfMeta(`${metaModule}.weight`).replace(/\.weight$/, '');
}

/**
 * How many heads a Meta weight's rows are permuted in, in HF's layout: wq
 * n_heads, wk n_kv_heads; null for every weight stored as is.
 */
export function rotaryHeadsOf(metaName: string, args: ModelArgs): number | null {
  if (/^layers\.\d+\.attention\.wq\.weight$/.test(metaName)) return args.nHeads;
  if (/^layers\.\d+\.attention\.wk\.weight$/.test(metaName)) return kvHeadsOf(args);
  return null;
}
