// `gradlab finetune`: the main job. Instruction-tunes a LLaMA-2 model on
// Alpaca-format data with any combination of the four memory techniques,
// shows a progress bar, and ends with the report: runtime, peak memory and
// its breakdown, FLOPs by phase, held-out loss and exact-match accuracy
// before and after. `--json` prints the same as JSON instead.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { MemoryTimeline } from '../tensor/memory-timeline.js';
import { timelineChart } from '../study/charts.js';
import { exportMemoryTimeline } from '../study/timeline-export.js';
import { peakLocation } from '../study/timeline-replay.js';
import { CHECKPOINTING_MODES } from '../nn/transformer.js';
import { PRESET_NAMES } from '../nn/model-args.js';
import { finetune } from '../train/finetune.js';
import type { FinetuneOptions } from '../train/finetune-config.js';
import { formatFinetuneReport } from '../train/finetune-report.js';
import { backendSpecDetails } from './backend-specs.js';
import { backendOrAuto, integerAtLeast, LORA_TARGETS, loraSpec, SEED_LORA_SPEC, SEED_LORA_TARGETS } from './technique-flags.js';
import { commaList, defineCommand, nonNegativeInteger, nonNegativeNumber, oneOf, path, positiveInteger, type OptionValues } from './flags.js';

const options = {
  preset: { type: 'string', short: 'p', description: 'model preset (randomly initialized unless --weights)', value: oneOf(PRESET_NAMES), default: 'tiny' },
  weights: { type: 'string', short: 'w', description: "pretrained weights: a llama2.c .bin, a Hugging Face LLaMA directory, or a gradlab .safetensors (shapes from --preset/--layers)", value: path({ mustBe: 'any' }) },
  tokenizer: { type: 'string', description: "llama2.c tokenizer .bin for a model with its own vocabulary (default: LLaMA's 32000 pieces)", value: path({ mustBe: 'file' }) },
  layers: { type: 'string', short: 'l', description: "transformer blocks (default: the preset's)", value: positiveInteger() },
  backend: { type: 'string', short: 'b', description: "backend, or 'auto': the fastest found here, with the reason printed", value: backendOrAuto(), default: 'auto', details: backendSpecDetails() },
  'batch-size': { type: 'string', description: 'records per micro-batch', value: positiveInteger(), default: '8' },
  'max-seq-len': { type: 'string', description: 'model_max_length: examples are truncated to it', value: integerAtLeast(2), default: '256' },
  epochs: { type: 'string', short: 'e', description: 'passes over the training data', value: positiveInteger(), default: '1' },
  'max-samples': { type: 'string', description: 'use only the first N training records', value: positiveInteger() },
  lr: { type: 'string', description: 'AdamW learning rate (the seed used 1e-5 on a pretrained 7B)', value: nonNegativeNumber(), default: '1e-3' },
  'weight-decay': { type: 'string', description: "AdamW's decoupled weight decay", value: nonNegativeNumber(), default: '0.01' },
  seed: { type: 'string', description: 'seed of initialization, data order and dropout', value: nonNegativeInteger(), default: '0' },
  accumulate: { type: 'string', short: 'k', description: 'gradient accumulation: micro-batches per optimizer step', value: positiveInteger(), default: '1' },
  exact: { type: 'boolean', description: 'exact accumulation: normalize by the target tokens of the whole window (k batches of 1 = one batch of k)' },
  checkpointing: { type: 'string', short: 'c', description: "gradient checkpointing: 'block' (one segment per block) or 'two-segments' (the seed's)", value: oneOf(CHECKPOINTING_MODES), default: 'none' },
  'mixed-precision': { type: 'boolean', short: 'm', description: 'autocast f16 with a GradScaler (PyTorch semantics)' },
  'f16-base': { type: 'boolean', description: 'store frozen weights in f16 (no per-use copies under LoRA; needs --mixed-precision)' },
  lora: { type: 'string', description: 'LoRA on --lora-targets: rank, alpha, dropout (bare --lora: the seed\'s 16,32,0.05)', value: loraSpec(), bareValue: SEED_LORA_SPEC },
  'lora-targets': { type: 'string', description: 'projections to adapt (default wq,wv)', value: commaList(oneOf(LORA_TARGETS), { minItems: 1, unique: true }) },
  data: { type: 'string', short: 'd', description: 'training data: an Alpaca-format JSON array (default: the embedded set)', value: path({ mustBe: 'file' }) },
  'eval-data': { type: 'string', description: 'held-out data (default: the embedded eval split, when --data is not given)', value: path({ mustBe: 'file' }) },
  'eval-samples': { type: 'string', description: 'held-out records evaluated before and after (0: none)', value: nonNegativeInteger(), default: '20' },
  'max-new-tokens': { type: 'string', description: 'tokens generated per held-out record for exact match', value: positiveInteger(), default: '12' },
  save: { type: 'string', description: 'save weights or adapter, optimizer, scaler, data order and RNG here', value: path({ placeholder: 'DIR' }) },
  'save-every': { type: 'string', description: 'also save every N optimizer steps', value: positiveInteger() },
  resume: { type: 'string', description: 'continue the run saved in this directory (same settings)', value: path({ mustBe: 'directory' }) },
  'max-steps': { type: 'string', description: 'stop after N optimizer steps in total', value: positiveInteger() },
  timeline: { type: 'string', description: "record the first optimizer step's every allocation and free: PyTorch-style JSON events in FILE, a stacked-area SVG beside it", value: path({ placeholder: 'FILE' }) },
  json: { type: 'boolean', description: 'print the report as JSON (no progress bar)' },
  quiet: { type: 'boolean', short: 'q', description: 'no progress bar' },
} as const;

export type FinetuneFlags = OptionValues<typeof options>;

/** A recorded step as PyTorch-style JSON events plus a stacked-area SVG beside it. */
async function writeTimelineFiles(timeline: MemoryTimeline, file: string): Promise<{ json: string; svg: string; events: number; peak: string }> {
  const svg = `${file.replace(/\.json$/i, '')}.svg`;
  await mkdir(dirname(resolve(file)), { recursive: true });
  await writeFile(file, exportMemoryTimeline(timeline, { time: 'us' }));
  await writeFile(svg, await timelineChart(timeline, { title: 'Memory of one optimizer step, by category' }));
  return { json: file, svg, events: timeline.events.length, peak: peakLocation(timeline)?.description ?? 'none (nothing allocated)' };
}

export function finetuneOptionsFromFlags(f: FinetuneFlags): FinetuneOptions {
  if (f['lora-targets'] && !f.lora) throw new Error('--lora-targets needs --lora');
  return {
    preset: f.preset, weights: f.weights, tokenizer: f.tokenizer, layers: f.layers, backend: f.backend,
    batchSize: f['batch-size'], maxSeqLen: f['max-seq-len'], epochs: f.epochs, maxSamples: f['max-samples'],
    lr: f.lr, weightDecay: f['weight-decay'], seed: f.seed,
    accumulate: f.accumulate, accumulationMode: f.exact ? 'exact' : 'seed',
    checkpointing: f.checkpointing, mixedPrecision: f['mixed-precision'], f16Base: f['f16-base'],
    lora: f.lora ? { ...f.lora, targets: f['lora-targets'] ?? [...SEED_LORA_TARGETS] } : null,
    data: f.data, evalData: f['eval-data'], evalSamples: f['eval-samples'], maxNewTokens: f['max-new-tokens'],
    save: f.save, saveEvery: f['save-every'], resume: f.resume, maxSteps: f['max-steps'],
    recordTimeline: f.timeline !== undefined,
  };
}

export const finetuneCommand = defineCommand({
  name: 'finetune',
  summary: 'instruction-tune LLaMA-2 on Alpaca data with any mix of the four memory techniques; report memory, FLOPs, accuracy',
  description: 'Runs the main job: with no options, the tiny preset on the embedded data set on the best backend found. ' +
    'Techniques: --accumulate K [--exact], --checkpointing block|two-segments, --mixed-precision [--f16-base], --lora [R,ALPHA,DROPOUT] [--lora-targets ...].',
  options,
  examples: [
    'gradlab finetune',
    'gradlab finetune --lora --mixed-precision --f16-base --checkpointing two-segments --accumulate 4 --exact',
    'gradlab finetune --weights ../shared/data/stories260K.bin --tokenizer ../shared/data/tok512.bin --lora 8,16,0 --epochs 2',
    'gradlab finetune --save runs/a --save-every 10 && gradlab finetune --save runs/a --resume runs/a',
  ],
  async run(f) {
    const opts = finetuneOptionsFromFlags(f);
    const interactive = !f.json && !f.quiet;
    const bar = interactive ? new cliProgress.SingleBar({
      format: 'epoch {epoch}/{epochs} |{bar}| step {value}/{total} | loss {loss} | {tps} tok/s | scale {scale}',
      hideCursor: true, clearOnComplete: false, etaBuffer: 5,
    }, cliProgress.Presets.shades_classic) : null;
    let started = false;
    const result = await finetune(opts, {
      log: (line) => { if (!f.json) console.log(line); },
      onProgress: (p) => {
        if (!bar) return;
        const payload = { epoch: p.epoch, epochs: p.epochs, loss: p.loss.toFixed(4), tps: p.tokensPerSecond.toFixed(0), scale: p.lossScale };
        if (!started) { bar.start(p.totalSteps, 0, payload); started = true; }
        bar.update(p.step, payload);
      },
    }).finally(() => { if (started) bar?.stop(); });
    let timelineNote: string | null = null;
    if (f.timeline && result.timeline) {
      const written = await writeTimelineFiles(result.timeline, f.timeline);
      timelineNote = `memory timeline of step ${result.startStep + 1}: ${written.events} events in ${written.json}, chart ${written.svg}; peak ${written.peak}`;
    }
    if (f.json) console.log(JSON.stringify({ ...result, timeline: timelineNote }, null, 2));
    else console.log(`\n${formatFinetuneReport(result)}${timelineNote ? `\n\n${timelineNote}` : ''}`);
    const last = result.losses[result.losses.length - 1];
    if (last && !Number.isFinite(last.loss)) {
      console.error(`gradlab finetune: the loss is ${last.loss} at step ${last.step}; training diverged`);
      return 1;
    }
    return 0;
  },
});
