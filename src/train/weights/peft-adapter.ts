// PEFT LoRA adapters for LLaMA: the directory Hugging Face's peft writes
// (`adapter_config.json` plus `adapter_model.safetensors` with keys
// `base_model.model.<HF module>.lora_A.weight` (r, in) and `...lora_B.weight`
// (out, r)), exported from and loaded into gradlab's LoRALinear layers.
// PEFT's adapter lives in HF's row space: for q_proj and k_proj, B's rows
// are permuted like the base weight's rows (A's are the input features,
// which the permutation does not touch). PEFT's LoRA computes exactly
// loralib's x W^T + dropout(x) A^T B^T * (lora_alpha / r), so the numbers
// carry over unchanged. Features gradlab's LoRA lacks (rsLoRA, DoRA, per-module
// ranks, biases, fan_in_fan_out, partial layers) are refused by name.

import { randomBytes } from 'node:crypto';
import { access, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { applyLora } from '../../nn/lora.js';
import { LoRALinear } from '../../nn/lora-linear.js';
import { Linear } from '../../nn/linear.js';
import type { Transformer } from '../../nn/transformer.js';
import { tensor } from '../../tensor/creation.js';
import { withBackend } from '../../tensor/runtime.js';
import { formatShape, shapesEqual } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { HF_LAYER_PROJECTIONS, HF_TO_META_PROJECTION, hfModuleOfMeta, META_TO_HF_PROJECTION, rotaryHeadsOf, type HfProjection, type MetaProjection } from './hf-names.js';
import { permuteRotaryRows } from './hf-rotary-permutation.js';
import { canConvert, type SafetensorsDType } from './host-dtypes.js';
import { SafetensorsReader, withSafetensors } from './safetensors-reader.js';
import { saveSafetensors } from './safetensors-writer.js';
import { WeightFileError } from './weight-file-error.js';

export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
const KEY_PREFIX = 'base_model.model.';

/** The adapter_config.json fields gradlab reads and writes. */
export interface PeftLoraConfig {
  peft_type: 'LORA';
  task_type: 'CAUSAL_LM';
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  /** HF module names (q_proj, v_proj, ...), in gradlab's fixed order. */
  target_modules: HfProjection[];
  bias: 'none';
  base_model_name_or_path: string | null;
}

const TARGET_ORDER: readonly HfProjection[] = [...HF_LAYER_PROJECTIONS, 'lm_head'];
const sortTargets = (t: Iterable<HfProjection>) => TARGET_ORDER.filter((x) => new Set(t).has(x));

/** Validates a parsed adapter_config.json; `file` names it in errors. */
export function parsePeftLoraConfig(json: unknown, file: string): PeftLoraConfig {
  const fail = (problem: string): never => { throw new WeightFileError(file, `unsupported PEFT adapter config: ${problem}`); };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail('it must hold a JSON object');
  const c = json as Record<string, unknown>;
  const is = (field: string, ok: (v: unknown) => boolean, want: string) => {
    if (c[field] !== undefined && !ok(c[field])) fail(`'${field}' is ${JSON.stringify(c[field])}; gradlab needs ${want}`);
  };
  if (c.peft_type !== 'LORA') fail(`'peft_type' is ${JSON.stringify(c.peft_type)}; gradlab loads "LORA" adapters only`);
  is('task_type', (v) => v === null || v === 'CAUSAL_LM', '"CAUSAL_LM" (a LlamaForCausalLM adapter)');
  if (typeof c.r !== 'number' || !Number.isInteger(c.r) || c.r < 1) fail(`'r' is ${JSON.stringify(c.r)}; it must be a positive integer`);
  if (typeof c.lora_alpha !== 'number' || !Number.isFinite(c.lora_alpha)) fail(`'lora_alpha' is ${JSON.stringify(c.lora_alpha)}; it must be a number`);
  const dropout = c.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) fail(`'lora_dropout' is ${JSON.stringify(dropout)}; it must be in [0, 1)`);
  is('bias', (v) => v === 'none', '"none" (LLaMA has no biases)');
  is('fan_in_fan_out', (v) => v === false, 'false (LLaMA stores Linear weights as (out, in))');
  is('use_rslora', (v) => v === false, "false (gradlab's scaling is lora_alpha / r)");
  is('use_dora', (v) => v === false, 'false (gradlab has no DoRA)');
  const emptyObject = (v: unknown) => v === null || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);
  is('rank_pattern', emptyObject, 'no per-module ranks ({})');
  is('alpha_pattern', emptyObject, 'no per-module alphas ({})');
  is('layers_to_transform', (v) => v === null, 'null (every layer adapted)');
  is('modules_to_save', (v) => v === null || (Array.isArray(v) && v.length === 0), 'null (no fully trained modules)');
  const base = c.base_model_name_or_path ?? null;
  if (base !== null && typeof base !== 'string') fail(`'base_model_name_or_path' must be a string or null, got ${JSON.stringify(base)}`);

  let targets: HfProjection[] = [];
  const raw = c.target_modules;
  if (raw === 'all-linear') targets = [...HF_LAYER_PROJECTIONS];
  else if (typeof raw === 'string') fail(`'target_modules' is the pattern ${JSON.stringify(raw)}; gradlab reads a list of module names (${TARGET_ORDER.join(', ')}) or "all-linear"`);
  else if (!Array.isArray(raw) || raw.length === 0) fail(`'target_modules' must be a non-empty list of module names, got ${JSON.stringify(raw)}`);
  else {
    const unknown = raw.filter((t) => typeof t !== 'string' || !Object.hasOwn(HF_TO_META_PROJECTION, t));
    if (unknown.length > 0) fail(`'target_modules' has ${unknown.map((t) => JSON.stringify(t)).join(', ')}; a LLaMA's adaptable modules are ${TARGET_ORDER.join(', ')}`);
    targets = raw as HfProjection[];
  }
  return {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', r: c.r as number, lora_alpha: c.lora_alpha as number, lora_dropout: dropout as number,
    target_modules: sortTargets(targets), bias: 'none', base_model_name_or_path: base as string | null,
  };
}

/** Reads and validates `dir`/adapter_config.json. */
export async function readPeftAdapterConfig(dir: string): Promise<PeftLoraConfig> {
  const file = join(dir, PEFT_CONFIG_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new WeightFileError(file, `cannot read the PEFT adapter config: ${(err as Error).message}`);
  }
  return parsePeftLoraConfig(json, file);
}

/** The PEFT key of a LoRA factor of a Meta module ('layers.0.attention.wq', 'A'). */
export function peftKeyOf(metaModule: string, factor: 'A' | 'B'): string {
  return `${KEY_PREFIX}${hfModuleOfMeta(metaModule)}.lora_${factor}.weight`;
}

/** The model's LoRA layers by Meta module path. */
function loraModulesOf(model: Transformer): [string, LoRALinear][] {
  return model.namedModules().filter((e): e is [string, LoRALinear] => e[1] instanceof LoRALinear);
}

/** Module paths a target set covers in a model: every layer's projection, and `output` for lm_head. */
function modulePathsFor(model: Transformer, targets: readonly HfProjection[]): string[] {
  const paths: string[] = [];
  for (const t of targets) {
    const meta = HF_TO_META_PROJECTION[t];
    if (meta === 'output') { paths.push('output'); continue; }
    const part = ['wq', 'wk', 'wv', 'wo'].includes(meta) ? 'attention' : 'feed_forward';
    for (let i = 0; i < model.args.nLayers; i++) paths.push(`layers.${i}.${part}.${meta}`);
  }
  return paths;
}

async function writeTextFileAtomic(file: string, text: string): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    const fh = await open(temp, 'wx');
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw new WeightFileError(file, `cannot save: ${(err as Error).message}`);
  }
}

export interface SavePeftAdapterOptions {
  /** adapter_config.json's base_model_name_or_path (e.g. "meta-llama/Llama-2-7b-hf"); null when unset. */
  baseModel?: string;
  /** File dtype of the factors (default: the model's, F32 for f32). */
  dtype?: Extract<SafetensorsDType, 'F64' | 'F32' | 'F16' | 'BF16'>;
}

/**
 * Writes the model's LoRA factors as a PEFT adapter directory (created if
 * needed): adapter_model.safetensors, then adapter_config.json, each through
 * a temporary file and a rename. Every LoRA layer must share r, alpha and
 * dropout, and each adapted projection must be adapted in every layer (what
 * a PEFT target_modules list means).
 */
export async function savePeftAdapter(model: Transformer, dir: string, options: SavePeftAdapterOptions = {}): Promise<PeftLoraConfig> {
  const loras = loraModulesOf(model);
  const where = `savePeftAdapter(${dir})`;
  if (loras.length === 0) throw new Error(`${where}: the model has no LoRA layers; call applyLora first`);
  const [, first] = loras[0];
  const differing = loras.filter(([, m]) => m.r !== first.r || m.alpha !== first.alpha || m.dropoutP !== first.dropoutP);
  if (differing.length > 0) {
    const [path, m] = differing[0];
    throw new Error(`${where}: PEFT's config has one r / lora_alpha / lora_dropout, but ${loras[0][0]} has (${first.r}, ${first.alpha}, ${first.dropoutP}) and ${path} (${m.r}, ${m.alpha}, ${m.dropoutP})`);
  }
  const targets = sortTargets(loras.map(([path]) => {
    const meta = path.split('.').pop() as MetaProjection;
    if (!Object.hasOwn(META_TO_HF_PROJECTION, meta)) throw new Error(`${where}: LoRA layer '${path}' is not a LLaMA projection PEFT can name`);
    hfModuleOfMeta(path); // throws for a path that is not a LLaMA module
    return META_TO_HF_PROJECTION[meta];
  }));
  const have = new Set(loras.map(([p]) => p));
  const lacking = modulePathsFor(model, targets).filter((p) => !have.has(p));
  if (lacking.length > 0) throw new Error(`${where}: target_modules applies to every layer, but ${lacking.join(', ')} ${lacking.length > 1 ? 'have' : 'has'} no LoRA`);

  const tensors: [string, Tensor][] = [];
  const temporaries: Tensor[] = [];
  try {
    for (const [path, m] of loras) {
      tensors.push([peftKeyOf(path, 'A'), m.lora_A]);
      const heads = rotaryHeadsOf(`${path}.weight`, model.args);
      if (heads === null) {
        tensors.push([peftKeyOf(path, 'B'), m.lora_B]);
        continue;
      }
      // B's rows into HF's permuted row space; B is small (out, r), so on the host.
      const [out, r] = m.lora_B.shape;
      const permuted = permuteRotaryRows(await m.lora_B.rawData(), r, out / heads, 'toHf');
      const t = withBackend(m.lora_B.context.backend, () => tensor(permuted, [out, r]).keep());
      temporaries.push(t);
      tensors.push([peftKeyOf(path, 'B'), t]);
    }
    tensors.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    await mkdir(dir, { recursive: true });
    const dtypes = options.dtype ? Object.fromEntries(tensors.map(([k]) => [k, options.dtype!])) : undefined;
    await saveSafetensors(join(dir, PEFT_WEIGHTS_FILE), tensors, { metadata: { format: 'pt' }, dtypes });
  } finally {
    for (const t of temporaries) t.dispose();
  }
  const config: PeftLoraConfig = {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', r: first.r, lora_alpha: first.alpha, lora_dropout: first.dropoutP,
    target_modules: targets, bias: 'none', base_model_name_or_path: options.baseModel ?? null,
  };
  // Fields every PEFT release since 0.3 knows, sorted as PEFT's save_pretrained writes them.
  const written = { ...config, fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, modules_to_save: null };
  const sorted = Object.fromEntries(Object.entries(written).sort(([a], [b]) => (a < b ? -1 : 1)));
  await writeTextFileAtomic(join(dir, PEFT_CONFIG_FILE), `${JSON.stringify(sorted, null, 2)}\n`);
  return config;
}

export interface LoadPeftAdapterResult {
  readonly config: PeftLoraConfig;
  /** Meta module paths that now carry the adapter. */
  readonly adapted: string[];
}

/**
 * Loads a PEFT LoRA adapter directory into a model: applies LoRA with the
 * config's r, lora_alpha, lora_dropout and targets (or reuses LoRA layers
 * already there, when they match), then reads A and B (B's q_proj / k_proj
 * rows back into Meta's order). Every key and shape is checked before the
 * model is changed.
 */
export async function loadPeftAdapter(model: Transformer, dir: string, options: { chunkBytes?: number } = {}): Promise<LoadPeftAdapterResult> {
  const config = await readPeftAdapterConfig(dir);
  const file = join(dir, PEFT_WEIGHTS_FILE);
  const paths = modulePathsFor(model, config.target_modules);
  const modules = new Map(model.namedModules());
  const existing = loraModulesOf(model);
  if (existing.length > 0) {
    const wanted = new Set(paths);
    const mismatch = existing.find(([p, m]) => !wanted.has(p) || m.r !== config.r || m.alpha !== config.lora_alpha);
    if (mismatch || existing.length !== paths.length) {
      throw new Error(`loadPeftAdapter(${dir}): the model already has LoRA layers that differ from the adapter's (r ${config.r}, lora_alpha ${config.lora_alpha}, target_modules ${config.target_modules.join(', ')})${mismatch ? `: ${mismatch[0]} has r ${mismatch[1].r}, alpha ${mismatch[1].alpha}` : ''}`);
    }
    const merged = existing.filter(([, m]) => m.merged).map(([p]) => p);
    if (merged.length > 0) throw new Error(`loadPeftAdapter(${dir}): LoRA is merged into ${merged.join(', ')}; unmerge (model.train()) first`);
  }
  if (!(await access(file).then(() => true, () => false))) {
    const pickle = await access(join(dir, 'adapter_model.bin')).then(() => true, () => false);
    throw new WeightFileError(file, `missing${pickle ? ' (the directory has adapter_model.bin, a pickle gradlab does not read: re-save with safe_serialization=True)' : ''}`);
  }
  return withSafetensors(file, async (reader) => {
    const expected = new Map<string, { path: string; factor: 'A' | 'B'; shape: number[] }>();
    for (const path of paths) {
      const layer = modules.get(path);
      if (!(layer instanceof Linear) && !(layer instanceof LoRALinear)) throw new Error(`loadPeftAdapter(${dir}): the model has no projection '${path}'`);
      const [out, inF] = layer.weight.shape;
      expected.set(peftKeyOf(path, 'A'), { path, factor: 'A', shape: [config.r, inF] });
      expected.set(peftKeyOf(path, 'B'), { path, factor: 'B', shape: [out, config.r] });
    }
    const problems: string[] = [];
    for (const [key, { shape }] of expected) {
      const e = reader.header.entries.get(key);
      if (!e) problems.push(`missing tensor '${key}'`);
      else if (!shapesEqual(e.shape, shape)) problems.push(`tensor '${key}' is ${formatShape(e.shape)}, but r ${config.r} and the model make it ${formatShape(shape)}`);
      else if (!['F64', 'F32', 'F16', 'BF16'].includes(e.dtype) || !canConvert(e.dtype as SafetensorsDType, model.dtype)) problems.push(`tensor '${key}' is ${e.dtype}; LoRA factors must be F32, F16 or BF16 (or F64)`);
    }
    const unexpected = reader.names().filter((k) => !expected.has(k));
    for (const k of unexpected) {
      const beyond = /\.layers\.(\d+)\./.exec(k);
      const hint = beyond && Number(beyond[1]) >= model.args.nLayers ? ` (the model has ${model.args.nLayers} layers)` : '';
      problems.push(`unexpected tensor '${k}'${hint}`);
    }
    if (problems.length > 0) throw new WeightFileError(file, `does not fit this model and ${PEFT_CONFIG_FILE}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);

    const adapted = existing.length > 0 ? paths : applyLora(model, {
      r: config.r, alpha: config.lora_alpha, dropout: config.lora_dropout, mergeWeights: false,
      targets: [...new Set(config.target_modules.map((t) => HF_TO_META_PROJECTION[t]))],
    });
    const after = new Map(model.namedModules());
    for (const [key, { path, factor }] of expected) {
      const layer = after.get(path) as LoRALinear;
      await loadFactor(reader, key, factor === 'A' ? layer.lora_A : layer.lora_B, factor === 'B' ? rotaryHeadsOf(`${path}.weight`, model.args) : null, options.chunkBytes);
    }
    return { config, adapted };
  });
}

/** Reads one factor; a q_proj / k_proj B comes back from HF's row order (it is small: read whole). */
async function loadFactor(reader: SafetensorsReader, key: string, target: Tensor, heads: number | null, chunkBytes?: number): Promise<void> {
  if (heads === null) {
    await reader.readInto(key, target, chunkBytes);
    return;
  }
  const [out, r] = target.shape;
  const values = permuteRotaryRows(await reader.readHost(key, target.dtype), r, out / heads, 'toMeta');
  target.context.kernels.write(target.storage.buffer, values, 0);
  target.storage.version++;
}
