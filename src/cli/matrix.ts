// `gradlab matrix`: the technique study. Trains every combination of
// gradient accumulation, checkpointing, mixed precision and LoRA (plus the
// f16-frozen-base variants of the mixed-precision rows) for a few optimizer
// steps on fixed-shape batches and writes what each one cost — peak memory
// and its breakdown, first-step and steady-state peaks, time per step, FLOPs
// by phase, loss — as JSON and Markdown (with Table 1) and SVG charts.
// `--timeline FILE` instead records one training step of one combination:
// the JSON events, a stacked-area SVG, and where the peak happens.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { chooseBestBackend } from '../backends/best-backend.js';
import { createBackend } from '../backends/registry.js';
import { PRESET_NAMES } from '../nn/model-args.js';
import { formatBytes } from '../tensor/memory-ledger.js';
import type { MemoryTimeline } from '../tensor/memory-timeline.js';
import { useBackend } from '../tensor/runtime.js';
import { runtimeChart, stackedMemoryChart, timelineChart } from '../study/charts.js';
import { allCombinations, combinationName, parseCombinationName, type Combination } from '../study/matrix-combinations.js';
import { runMatrix, type MatrixResult } from '../study/matrix.js';
import { matrixJson, matrixPageMarkdown, memoryChartRows, runtimeChartRows } from '../study/matrix-report.js';
import { DEFAULT_MATRIX_SETTINGS, type MatrixSettings } from '../study/matrix-runner.js';
import { exportMemoryTimeline } from '../study/timeline-export.js';
import { peakLocation } from '../study/timeline-replay.js';
import { backendSpecDetails } from './backend-specs.js';
import { backendOrAuto, integerAtLeast, loraSpec } from './technique-flags.js';
import { commaList, defineCommand, nonNegativeInteger, nonNegativeNumber, oneOf, path, positiveInteger, type OptionValues, type ValueKind } from './flags.js';

function combinationKind(): ValueKind<Combination> {
  return { placeholder: 'NAME', accepts: "'plain' or some of GA, CK, MP, f16-base, LoRA joined by '+' (e.g. CK+MP+LoRA)", parse: (raw) => parseCombinationName(raw) };
}

const d = DEFAULT_MATRIX_SETTINGS;
const options = {
  preset: { type: 'string', short: 'p', description: 'model preset (randomly initialized)', value: oneOf(PRESET_NAMES), default: d.preset },
  layers: { type: 'string', short: 'l', description: 'transformer blocks', value: positiveInteger(), default: String(d.layers) },
  vocab: { type: 'string', description: "vocabulary size (default: the preset's; a smaller one needs --data synthetic)", value: integerAtLeast(2) },
  'seq-len': { type: 'string', description: 'tokens per record (every batch is padded to exactly this)', value: integerAtLeast(2), default: String(d.seqLen) },
  'batch-size': { type: 'string', description: 'records per micro-batch', value: positiveInteger(), default: String(d.batchSize) },
  steps: { type: 'string', description: 'optimizer steps per combination (the first, then the steady state)', value: integerAtLeast(2), default: String(d.steps) },
  accumulate: { type: 'string', short: 'k', description: 'micro-batches per optimizer step in the GA rows (same batch size; the seed used 8)', value: integerAtLeast(2), default: String(d.accumulate) },
  checkpointing: { type: 'string', short: 'c', description: "the CK rows' mode: 'two-segments' (the seed's) or 'block'", value: oneOf(['two-segments', 'block'] as const), default: d.checkpointingMode },
  lora: { type: 'string', description: "the LoRA rows' rank, alpha, dropout", value: loraSpec(), default: `${d.lora.r},${d.lora.alpha},${d.lora.dropout}` },
  'lora-targets': { type: 'string', description: 'projections the LoRA rows adapt', value: commaList(oneOf(['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const), { minItems: 1, unique: true }), default: d.lora.targets.join(',') },
  lr: { type: 'string', description: 'AdamW learning rate', value: nonNegativeNumber(), default: String(d.lr) },
  seed: { type: 'string', description: 'seed of initialization, synthetic data and dropout', value: nonNegativeInteger(), default: String(d.seed) },
  data: { type: 'string', description: "'embedded' (Alpaca records, LLaMA tokenizer; needs vocab 32000) or 'synthetic' (default: embedded when the vocabulary allows)", value: oneOf(['embedded', 'synthetic'] as const) },
  backend: { type: 'string', short: 'b', description: "backend, or 'auto': the fastest found here", value: backendOrAuto(), default: 'auto', details: backendSpecDetails() },
  only: { type: 'string', description: 'run only these combinations (default: all 16 plus the 8 f16-base variants)', value: commaList(combinationKind(), { minItems: 1 }) },
  out: { type: 'string', short: 'o', description: 'directory for the JSON, Markdown and SVG results', value: path(), default: 'bench/results' },
  tag: { type: 'string', description: 'file name suffix: study-matrix-TAG.json (default: preset and layers, e.g. tiny-2l)', value: { placeholder: 'NAME', accepts: 'letters, digits, - and _', parse: (raw: string) => { if (!/^[\w-]+$/.test(raw)) throw new Error(`'${raw}' has characters other than letters, digits, - and _`); return raw; } } },
  'timeline-dir': { type: 'string', description: 'also record one steady-state step of every combination as a timeline (JSON + SVG) here', value: path() },
  timeline: { type: 'string', description: 'record one steady-state training step of --combination only: FILE (JSON events) and FILE with .svg (the chart); prints where the peak happens', value: path({ placeholder: 'FILE' }) },
  combination: { type: 'string', description: 'the combination --timeline records', value: combinationKind(), default: 'plain' },
  json: { type: 'boolean', description: 'print the result as JSON' },
  quiet: { type: 'boolean', short: 'q', description: 'no per-combination lines' },
} as const;

export type MatrixFlags = OptionValues<typeof options>;

export function matrixSettingsFromFlags(f: MatrixFlags): MatrixSettings {
  return {
    preset: f.preset, layers: f.layers, vocabSize: f.vocab ?? null, batchSize: f['batch-size'], seqLen: f['seq-len'], steps: f.steps,
    accumulate: f.accumulate, checkpointingMode: f.checkpointing, lora: { ...f.lora, targets: f['lora-targets'] }, lr: f.lr, seed: f.seed,
  };
}

/**
 * The command line that reproduces a run, every setting spelled out (so the
 * record does not depend on today's defaults or on how the command was called).
 */
export function matrixCommandLine(settings: MatrixSettings, extra: { backend: string; data?: string; only?: readonly Combination[] }): string {
  const parts = ['gradlab', 'matrix', '--preset', settings.preset, '--layers', String(settings.layers)];
  if (settings.vocabSize !== null) parts.push('--vocab', String(settings.vocabSize));
  parts.push('--seq-len', String(settings.seqLen), '--batch-size', String(settings.batchSize), '--steps', String(settings.steps),
    '--accumulate', String(settings.accumulate), '--checkpointing', settings.checkpointingMode,
    '--lora', `${settings.lora.r},${settings.lora.alpha},${settings.lora.dropout}`, '--lora-targets', settings.lora.targets.join(','),
    '--lr', String(settings.lr), '--seed', String(settings.seed));
  if (extra.data) parts.push('--data', extra.data);
  parts.push('--backend', extra.backend);
  if (extra.only) parts.push('--only', extra.only.map(combinationName).join(','));
  return parts.join(' ');
}

async function openBackend(spec: string): Promise<Backend> {
  return spec === 'auto' ? (await chooseBestBackend()).backend : createBackend(spec);
}

/** Where a combination's timeline files go: DIR/timeline-<name>.json and .svg ('+' becomes '_'). */
export function timelineBaseName(name: string): string {
  return `timeline-${name.replace(/\+/g, '_')}`;
}

/** "tiny, 2 layers, vocab 1024, batch 4 x seq 128, wasm" for titles. */
function describeRun(settings: MatrixSettings, backend: string): string {
  return `${settings.preset}, ${settings.layers} layer${settings.layers === 1 ? '' : 's'}${settings.vocabSize !== null ? `, vocab ${settings.vocabSize}` : ''}, ` +
    `batch ${settings.batchSize} x seq ${settings.seqLen}, ${backend}`;
}

/** Writes a timeline's JSON (deterministic: event numbers, no clock) and its chart; returns the peak sentence. */
export async function writeTimeline(timeline: MemoryTimeline, jsonPath: string, title: string): Promise<string> {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, exportMemoryTimeline(timeline, { time: 'seq' }));
  const svgPath = jsonPath.replace(/\.json$/i, '') + '.svg';
  writeFileSync(svgPath, await timelineChart(timeline, { title }));
  const peak = peakLocation(timeline);
  return peak
    ? `${timeline.events.length} events; peak ${formatBytes(peak.totalBytes)} at event ${peak.seq}: ${peak.description}; wrote ${jsonPath} and ${svgPath}`
    : `no memory events recorded; wrote ${jsonPath} and ${svgPath}`;
}

export const matrixCommand = defineCommand({
  name: 'matrix',
  summary: 'the technique study: every combination of GA, checkpointing, mixed precision and LoRA measured; or one step\'s memory timeline',
  description: 'Trains each combination for --steps optimizer steps on the same fixed-shape batches and records the peak memory with its ' +
    'per-category breakdown, each category\'s own maximum, the first-step and steady-state peaks, time per step, FLOPs by phase ' +
    '(forward, backward, recomputation, optimizer) and the loss reached. Writes study-matrix-TAG.json and .md (with Table 1: each technique ' +
    'alone against plain) and study-memory-TAG.svg / study-runtime-TAG.svg into --out, with the command and the machine recorded. ' +
    'With --timeline FILE it records one steady-state training step of --combination instead.',
  options,
  examples: [
    'gradlab matrix --preset tiny --layers 2 --seq-len 128 --batch-size 4 --steps 3 --backend wasm',
    'gradlab matrix --only plain,CK,MP+LoRA --steps 2 --out /tmp/study',
    'gradlab matrix --timeline bench/results/timeline-ck.json --combination CK --vocab 1024 --data synthetic',
  ],
  async run(f) {
    const settings = matrixSettingsFromFlags(f);
    const backend = await openBackend(f.backend);
    const command = matrixCommandLine(settings, { backend: f.backend, data: f.data, only: f.timeline ? [f.combination] : f.only });
    useBackend(backend);
    try {
      if (f.timeline) {
        const name = combinationName(f.combination);
        let sentence = '';
        const result = await runMatrix({ settings, data: f.data, combinations: [f.combination], timelines: [name], command }, {
          onTimeline: async (n, timeline) => {
            sentence = await writeTimeline(timeline, f.timeline!, `One steady-state training step, ${n}: ${describeRun(settings, backend.name)}`);
          },
        });
        const r = result.combinations[0];
        console.log(`${name}: ${describeRun(settings, backend.name)}, ${result.data} data`);
        console.log(`steady-state peak ${formatBytes(r.steadyStatePeak.totalBytes)}, first step ${formatBytes(r.firstStepPeak.totalBytes)}`);
        console.log(sentence);
        return 0;
      }
      const combinations = f.only ?? allCombinations();
      const timelineDir = f['timeline-dir'];
      const result = await runMatrix({ settings, data: f.data, combinations, timelines: timelineDir ? 'all' : [], command }, {
        onCombination: (r, i, n) => {
          if (f.quiet || f.json) return;
          console.log(`[${i + 1}/${n}] ${r.name.padEnd(22)} peak ${formatBytes(r.peak.totalBytes).padStart(10)} (first step ${formatBytes(r.firstStepPeak.totalBytes)}, steady ${formatBytes(r.steadyStatePeak.totalBytes)}), ${r.msPerStep.toFixed(0)} ms/step, loss ${r.finalLoss.toFixed(4)}`);
        },
        onTimeline: async (name, timeline) => {
          const line = await writeTimeline(timeline, join(timelineDir!, `${timelineBaseName(name)}.json`), `One steady-state training step, ${name}: ${describeRun(settings, backend.name)}`);
          if (!f.quiet && !f.json) console.log(`  timeline: ${line}`);
        },
      });
      const tag = f.tag ?? `${settings.preset}-${result.model.layers}l`;
      mkdirSync(f.out, { recursive: true });
      const base = join(f.out, `study-matrix-${tag}`);
      writeFileSync(`${base}.json`, matrixJson(result));
      writeFileSync(`${base}.md`, matrixPageMarkdown(result, tag));
      const label = describeRun(settings, backend.name);
      writeFileSync(join(f.out, `study-memory-${tag}.svg`), await stackedMemoryChart(memoryChartRows(result), { title: `Peak memory by category (${label})` }));
      writeFileSync(join(f.out, `study-runtime-${tag}.svg`), await runtimeChart(runtimeChartRows(result), { title: `Time per optimizer step (${label})` }));
      if (f.json) console.log(matrixJson(result));
      else console.log(`wrote ${base}.json, ${base}.md, study-memory-${tag}.svg and study-runtime-${tag}.svg in ${f.out}`);
      return 0;
    } finally {
      backend.destroy();
    }
  },
});
