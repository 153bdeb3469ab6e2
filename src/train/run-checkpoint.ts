// Saving and resuming a fine-tuning run so that the resumed run equals an
// uninterrupted one (bitwise on the CPU backend).
//
// Layout of a save directory:
//   latest.json               {"checkpoint": "step-000042", "step": 42}
//   step-000042/
//     run.json                config, step, data order, generator, scaler and optimizer step counts
//     model.safetensors       full fine-tuning: every parameter
//     adapter.safetensors     LoRA: the trainable LoRA factors (the base comes from the config)
//     peft/                   LoRA: the same adapter in PEFT's format, for other tools
//     optimizer.safetensors   AdamW's exp_avg / exp_avg_sq per parameter index
//
// Crash safety: a checkpoint is written into a fresh `.partial-*` directory,
// renamed into place when complete, and only then published by replacing
// latest.json through a temporary file and a rename (atomic on POSIX). Older
// checkpoints are deleted after that. A process killed at any moment leaves
// latest.json naming a complete checkpoint (or no latest.json before the
// first save completes).

import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tensor } from '../tensor/creation.js';
import { getGeneratorState, type GeneratorState } from '../tensor/generator.js';
import { dispose } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Transformer } from '../nn/transformer.js';
import { loraStateDict } from '../nn/lora.js';
import type { AdamW, AdamWStateDict } from './adamw.js';
import type { DataOrderState } from './data/data-order.js';
import { RESUME_SENSITIVE_KEYS, type FinetuneConfig } from './finetune-config.js';
import type { GradScaler, GradScalerStateDict } from './grad-scaler.js';
import { prepareModel, type PreparedModel } from './model-setup.js';
import { savePeftAdapter } from './weights/peft-adapter.js';
import { loadSafetensors } from './weights/safetensors-reader.js';
import { saveSafetensors } from './weights/safetensors-writer.js';
import { loadStateDictFromSafetensors, saveStateDictToSafetensors } from './weights/state-dict-files.js';

export const LATEST_FILE = 'latest.json';
const RUN_FILE = 'run.json';
const MODEL_FILE = 'model.safetensors';
const ADAPTER_FILE = 'adapter.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';

export interface RunState {
  /** Optimizer steps completed. */
  step: number;
  /** Micro-batches consumed. */
  microBatches: number;
  tokensSeen: number;
  dataOrder: DataOrderState;
  generator: GeneratorState;
  scaler: GradScalerStateDict | Record<string, never>;
  /** AdamW's hyperparameters and per-parameter step counts (tensors live in optimizer.safetensors). */
  optimizer: { param_groups: AdamWStateDict['param_groups']; steps: Record<number, number> };
}

interface RunFile {
  format: 'gradlab-finetune-checkpoint';
  version: 1;
  config: Pick<FinetuneConfig, (typeof RESUME_SENSITIVE_KEYS)[number]>;
  state: RunState;
}

export interface SaveContext {
  readonly config: FinetuneConfig;
  readonly model: Transformer;
  readonly optimizer: AdamW;
  readonly scaler: GradScaler;
  readonly dataOrder: DataOrderState;
  readonly step: number;
  readonly microBatches: number;
  readonly tokensSeen: number;
}

const checkpointName = (step: number) => `step-${String(step).padStart(6, '0')}`;

function resumeSensitive(config: FinetuneConfig): RunFile['config'] {
  return Object.fromEntries(RESUME_SENSITIVE_KEYS.map((k) => [k, config[k]])) as RunFile['config'];
}

/** Writes a file's bytes and fsyncs them, so a rename after it publishes complete data. */
async function writeDurable(file: string, text: string): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try { await fh.sync(); } finally { await fh.close(); }
}

/** Saves a complete checkpoint and publishes it as the latest; returns its directory. */
export async function saveRunCheckpoint(dir: string, ctx: SaveContext): Promise<string> {
  await mkdir(dir, { recursive: true });
  const name = checkpointName(ctx.step);
  const partial = join(dir, `.partial-${name}-${process.pid}`);
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial);
  const optimizerDict = await ctx.optimizer.stateDict();
  const steps: Record<number, number> = {};
  const optimizerTensors = new Map<string, Tensor>();
  try {
    for (const [index, s] of Object.entries(optimizerDict.state)) {
      steps[Number(index)] = s.step;
      optimizerTensors.set(`${index}.exp_avg`, tensor(s.exp_avg.data, s.exp_avg.shape, { dtype: s.exp_avg.dtype }));
      optimizerTensors.set(`${index}.exp_avg_sq`, tensor(s.exp_avg_sq.data, s.exp_avg_sq.shape, { dtype: s.exp_avg_sq.dtype }));
    }
    await saveSafetensors(join(partial, OPTIMIZER_FILE), optimizerTensors);
  } finally {
    dispose([...optimizerTensors.values()]);
  }
  if (ctx.config.lora) {
    await saveSafetensors(join(partial, ADAPTER_FILE), loraStateDict(ctx.model));
    await savePeftAdapter(ctx.model, join(partial, 'peft'), { baseModel: ctx.config.weights ?? `gradlab preset ${ctx.config.preset}` });
  } else {
    await saveStateDictToSafetensors(ctx.model, join(partial, MODEL_FILE), { metadata: { gradlab_model_args: JSON.stringify(ctx.model.args) } });
  }
  const run: RunFile = {
    format: 'gradlab-finetune-checkpoint',
    version: 1,
    config: resumeSensitive(ctx.config),
    state: {
      step: ctx.step,
      microBatches: ctx.microBatches,
      tokensSeen: ctx.tokensSeen,
      dataOrder: ctx.dataOrder,
      generator: getGeneratorState(),
      scaler: ctx.scaler.stateDict(),
      optimizer: { param_groups: optimizerDict.param_groups, steps },
    },
  };
  await writeDurable(join(partial, RUN_FILE), `${JSON.stringify(run, null, 2)}\n`);
  await fsyncDir(partial);
  const final = join(dir, name);
  await rm(final, { recursive: true, force: true });
  await rename(partial, final);
  await fsyncDir(dir);
  // Publish: the old latest.json stays valid until this rename replaces it.
  const latestTmp = join(dir, `.${LATEST_FILE}.${process.pid}.tmp`);
  await writeDurable(latestTmp, `${JSON.stringify({ checkpoint: name, step: ctx.step })}\n`);
  await rename(latestTmp, join(dir, LATEST_FILE));
  await fsyncDir(dir);
  for (const entry of await readdir(dir)) {
    if (entry !== name && /^step-\d+$/.test(entry)) await rm(join(dir, entry), { recursive: true, force: true });
  }
  return final;
}

/** The published checkpoint of a save directory, read and validated. */
export async function readLatestCheckpoint(dir: string): Promise<{ path: string; run: RunFile }> {
  let latest: { checkpoint?: unknown };
  try {
    latest = JSON.parse(await readFile(join(dir, LATEST_FILE), 'utf8'));
  } catch (err) {
    throw new Error(`resume: '${dir}' holds no complete checkpoint (${join(dir, LATEST_FILE)}: ${(err as Error).message})`);
  }
  if (typeof latest.checkpoint !== 'string' || !/^step-\d+$/.test(latest.checkpoint)) {
    throw new Error(`resume: ${join(dir, LATEST_FILE)} does not name a checkpoint (got ${JSON.stringify(latest)})`);
  }
  const path = join(dir, latest.checkpoint);
  let run: RunFile;
  try {
    run = JSON.parse(await readFile(join(path, RUN_FILE), 'utf8'));
  } catch (err) {
    throw new Error(`resume: cannot read ${join(path, RUN_FILE)}: ${(err as Error).message}`);
  }
  if (run.format !== 'gradlab-finetune-checkpoint' || run.version !== 1) throw new Error(`resume: ${join(path, RUN_FILE)} is not a gradlab fine-tuning checkpoint (version 1)`);
  return { path, run };
}

/** Settings that differ between a saved run and this one (empty: the resume continues the same training). */
export function configMismatches(saved: RunFile['config'], config: FinetuneConfig): string[] {
  const now = resumeSensitive(config);
  return RESUME_SENSITIVE_KEYS.filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(now[k]))
    .map((k) => `${k}: saved ${JSON.stringify(saved[k])}, now ${JSON.stringify(now[k])}`);
}

/** A checkpoint's weights into a model built from its config: the LoRA factors (every one required) or the whole state dict. */
async function loadCheckpointWeights(path: string, run: RunFile, model: Transformer): Promise<void> {
  if (!run.config.lora) {
    await loadStateDictFromSafetensors(model, join(path, MODEL_FILE));
    return;
  }
  const adapter = await loadSafetensors(join(path, ADAPTER_FILE));
  try {
    model.loadStateDict(adapter, { strict: false, source: join(path, ADAPTER_FILE) });
    const missing = [...loraStateDict(model).keys()].filter((k) => !adapter.has(k));
    if (missing.length > 0) throw new Error(`resume: ${join(path, ADAPTER_FILE)} lacks ${missing.join(', ')}`);
  } finally {
    dispose([...adapter.values()]);
  }
}

/** Loads weights (or the adapter) and the optimizer's tensors of a checkpoint into a freshly prepared run. */
export async function restoreRunCheckpoint(path: string, run: RunFile, model: Transformer, optimizer: AdamW, scaler: GradScaler): Promise<RunState> {
  await loadCheckpointWeights(path, run, model);
  const tensors = await loadSafetensors(join(path, OPTIMIZER_FILE));
  try {
    const state: AdamWStateDict['state'] = {};
    for (const [index, step] of Object.entries(run.state.optimizer.steps)) {
      const read = async (key: string) => {
        const t = tensors.get(`${index}.${key}`);
        if (!t) throw new Error(`resume: ${join(path, OPTIMIZER_FILE)} lacks '${index}.${key}'`);
        return { dtype: t.dtype, shape: [...t.shape], data: await t.rawData() };
      };
      state[Number(index)] = { step, exp_avg: await read('exp_avg'), exp_avg_sq: await read('exp_avg_sq') };
    }
    optimizer.loadStateDict({ state, param_groups: run.state.optimizer.param_groups });
  } finally {
    dispose([...tensors.values()]);
  }
  scaler.loadStateDict(run.state.scaler);
  return run.state;
}

export type { RunFile };

/**
 * The model and tokenizer of a save directory's latest checkpoint, ready for
 * inference: rebuilt from the saved config, then the saved weights or
 * adapter loaded on top (what `gradlab generate --from DIR` runs).
 */
export async function loadFinetunedModel(dir: string): Promise<PreparedModel & { step: number }> {
  const { path, run } = await readLatestCheckpoint(dir);
  const prepared = await prepareModel({ ...run.config, checkpointing: 'none' });
  try {
    await loadCheckpointWeights(path, run, prepared.model);
  } catch (err) {
    prepared.model.dispose();
    throw err;
  }
  return { ...prepared, step: run.state.step };
}
