// The example memory timeline: one steady-state training step of the tiny
// LLaMA preset on the CPU, recorded and drawn by category, plus its JSON.
//
//   npx tsx bench/timeline-example.ts [--checkpointing none|block|two-segments] [--lora]
//                                     [--layers N] [--vocab V] [--batch B] [--seq S] [--out DIR]
//
// The defaults shrink the vocabulary (tiny's 32000-token embedding and head
// would dwarf everything else) so the activations' rise through the forward
// and fall through the backward are visible.
//
// Writes DIR/timeline-example[-<variant>].svg and .json (DIR defaults to bench/results).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as g from '../src/index.js';
import { recordMemoryTimeline } from '../src/tensor/memory-timeline.js';
import { timelineChart } from '../src/study/charts.js';
import { exportMemoryTimeline } from '../src/study/timeline-export.js';
import { peakLocation } from '../src/study/timeline-replay.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const checkpointing = option('checkpointing', 'none') as g.CheckpointingMode;
const lora = process.argv.includes('--lora');
const layers = Number(option('layers', '2'));
const vocabSize = Number(option('vocab', '1024'));
const batch = Number(option('batch', '4'));
const seq = Number(option('seq', '128'));
const out = option('out', fileURLToPath(new URL('./results', import.meta.url)));

g.useBackend(new g.CpuBackend());
g.manualSeed(0);
const model = g.Transformer.fromPreset('tiny', { layers, vocabSize }, { checkpointing });
if (lora) {
  g.applyLora(model);
  g.markOnlyLoraAsTrainable(model);
}
const opt = new g.AdamW(model.trainableParameters());
// Any fixed token ids do: memory depends on shapes only.
const tokens = g.tensor(Int32Array.from({ length: batch * (seq + 1) }, (_, i) => (i * 7919 + 13) % model.args.vocabSize), [batch, seq + 1]);

function step(): void {
  const loss = g.tidy(() => g.crossEntropy(model.forward(g.slice(tokens, 1, 0, seq)), g.slice(tokens, 1, 1)));
  loss.backward();
  opt.step();
  opt.zeroGrad();
  loss.dispose();
}

step(); // the first step creates the optimizer state; the example shows the steady state
g.resetPeakMemory();
const timeline = recordMemoryTimeline(step);
const variant = [checkpointing !== 'none' ? checkpointing : '', lora ? 'lora' : ''].filter(Boolean).join('-');
const title = `One training step: tiny LLaMA (${layers} layer${layers === 1 ? '' : 's'}, vocab ${vocabSize}), batch ${batch} x seq ${seq}, f32, CPU` +
  `${checkpointing !== 'none' ? `, checkpointing ${checkpointing}` : ''}${lora ? ', LoRA (wq, wv)' : ''}`;
const svg = await timelineChart(timeline, { title });
mkdirSync(out, { recursive: true });
const base = join(out, `timeline-example${variant ? `-${variant}` : ''}`);
writeFileSync(`${base}.svg`, svg);
writeFileSync(`${base}.json`, exportMemoryTimeline(timeline, { time: 'seq' }));
const peak = peakLocation(timeline)!;
console.log(`${timeline.events.length} events; peak ${g.formatBytes(peak.totalBytes)} at event ${peak.seq}: ${peak.description}`);
console.log(`wrote ${base}.svg and ${base}.json`);
