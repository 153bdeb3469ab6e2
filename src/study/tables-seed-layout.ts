// Table 2 in the seed's layout: GA x MP x LoRA (plus checkpointing as a
// further axis, and the f16-base variants of the MP+LoRA rows) at 1, 8 and
// 32 layers — measured on the small preset, predicted at 7B by the memory
// model with the seed's shapes (batch 1, 512 tokens, GA x8, r 16 on wq, wv),
// printed beside the seed's reported figures. Each seed cell gets a sentence
// computed from the numbers: agreement or the size of the disagreement, what
// the prediction's breakdown says about it, and whether the cell must run out
// of memory on a 40 GB and an 80 GB A100.

import { combinationName, type Combination } from './matrix-combinations.js';
import type { MatrixResult } from './matrix.js';
import type { CombinationResult } from './matrix-runner.js';
import { A100_CAPACITIES, predictTrainingMemory, type TrainingMemoryPrediction } from './memory-model.js';
import { findSeedCell, SEED_CELLS, SEED_SETTINGS, seedPrintedValue, type SeedCell } from './seed-study.js';
import type { ProjectionName } from '../nn/activation-memory.js';

export const TABLE_2_LAYERS = [1, 8, 32] as const;

/** The rows: LoRA, then MP, then GA, then CK (the seed's three axes first), each MP+LoRA row followed by its f16-base variant. */
export function table2Combinations(): Combination[] {
  const rows: Combination[] = [];
  for (const lora of [false, true]) for (const mixedPrecision of [false, true]) for (const accumulation of [false, true]) for (const checkpointing of [false, true]) {
    rows.push({ accumulation, checkpointing, mixedPrecision, lora, f16Base: false });
    if (mixedPrecision && lora) rows.push({ accumulation, checkpointing, mixedPrecision, lora, f16Base: true });
  }
  return rows;
}

/** A prediction of one combination at `layers` layers of a big model. */
export type Predictor = (layers: number, c: Combination) => TrainingMemoryPrediction;

/** The memory model with the seed's settings: LLaMA-2-7B cut to `layers`, batch 1, seq 512, GA x8, two-segment checkpointing, LoRA r 16 on wq, wv. */
export const predictSeedSetting: Predictor = (layers, c) => predictTrainingMemory({
  preset: SEED_SETTINGS.preset, layers, batchSize: SEED_SETTINGS.batchSize, seqLen: SEED_SETTINGS.seqLen,
  accumulate: c.accumulation ? SEED_SETTINGS.accumulate : 1, checkpointing: c.checkpointing ? 'two-segments' : 'none',
  mixedPrecision: c.mixedPrecision, f16Base: c.f16Base,
  lora: c.lora ? { ...SEED_SETTINGS.lora, targets: [...SEED_SETTINGS.lora.targets] as ProjectionName[] } : null,
});

export interface Table2Cell {
  readonly layers: number;
  readonly measured: CombinationResult | null;
  readonly predicted: TrainingMemoryPrediction | null;
  /** Capacity (bytes) -> the predicted peak exceeds it. */
  readonly exceeds: Record<number, boolean>;
  readonly seed: SeedCell | null;
}

export interface Table2Row {
  readonly name: string;
  readonly combination: Combination;
  readonly cells: readonly Table2Cell[];
}

export interface Table2 {
  readonly rows: readonly Table2Row[];
  readonly layers: readonly number[];
  readonly capacities: readonly number[];
  /** One sentence per seed cell, from the numbers. */
  readonly seedExplanations: readonly string[];
  /** Sentences on runtime: the seed's ratios beside the measured ones. */
  readonly runtimeExplanations: readonly string[];
  /** What the measured settings were, per layer count. */
  readonly measuredSettings: readonly string[];
}

export interface Table2Input {
  /** Small-preset matrices, one per layer count (matched by their model's layers). */
  readonly measured: readonly MatrixResult[];
  /** Default: predictSeedSetting. null: leave the predicted columns empty. */
  readonly predict?: Predictor | null;
  readonly layers?: readonly number[];
  readonly capacities?: readonly number[];
}

const GB = 1e9;
const gb = (bytes: number): string => `${(bytes / GB).toFixed(1)} GB`;
const gb2 = (bytes: number): string => `${(bytes / GB).toFixed(2)} GB`;
const capacityLabel = (c: number): string => (c % 2 ** 30 === 0 ? `${c / 2 ** 30} GB` : gb(c));
const signedPct = (r: number): string => `${r >= 0 ? '+' : '−'}${Math.abs(r * 100).toFixed(1)}%`;

function words(c: Pick<Combination, 'accumulation' | 'mixedPrecision' | 'lora' | 'checkpointing'>): string {
  const parts = [c.accumulation ? 'GA' : null, c.checkpointing ? 'CK' : null, c.mixedPrecision ? 'MP' : null, c.lora ? 'LoRA' : 'full fine-tuning'].filter(Boolean);
  return parts.join(' + ');
}

/** The bytes any step that updates the weights must hold: weights, f32 gradients of the trainable ones, AdamW's m and v. */
export function updateFloorBytes(p: TrainingMemoryPrediction): number {
  const weights = p.start.parametersTrainable + p.start.parametersFrozen;
  return weights + 3 * 4 * p.parameters.trainable;
}

function oomSentence(p: TrainingMemoryPrediction, capacities: readonly number[]): string {
  const over = capacities.filter((c) => p.peakTotal > c);
  if (over.length === capacities.length) return `must run out of memory on every card checked (${capacities.map(capacityLabel).join(' and ')})`;
  if (over.length === 0) return `fits on ${capacities.map(capacityLabel).join(' and ')}`;
  return `must run out of memory on ${over.map(capacityLabel).join(' and ')}, fits on ${capacities.filter((c) => p.peakTotal <= c).map(capacityLabel).join(' and ')}`;
}

/**
 * One seed cell, explained from the numbers: `p` is the prediction for the
 * same layers and techniques (no checkpointing), `related(change)` the
 * prediction with one technique flipped, `relatedSeed` likewise for the seed.
 */
export function explainSeedCell(
  cell: SeedCell, p: TrainingMemoryPrediction,
  related: (flip: 'accumulation' | 'mixedPrecision') => TrainingMemoryPrediction,
  capacities: readonly number[] = A100_CAPACITIES,
): string {
  const head = `${cell.layers} layers, ${words({ ...cell, checkpointing: false })}:`;
  const predicted = `predicted ${gb2(p.peakTotal)} (peak in the ${p.peakStep === 'first' ? 'first step' : 'steady state'}, ${p.location?.description ?? 'no place'})`;
  if (cell.peakBytes === null) {
    const over = capacities.filter((c) => p.peakTotal > c);
    const verdict = over.length === capacities.length ? 'agrees' : over.length === 0 ? 'disagrees: the model says it fits' : `agrees only for the ${over.map(capacityLabel).join(' and ')} card`;
    return `${head} the seed ran out of memory; ${predicted}, which ${oomSentence(p, capacities)}: ${verdict}. ` +
      `Weights, gradients and AdamW state alone take ${gb2(updateFloorBytes(p))} (${(updateFloorBytes(p) / p.parameters.total).toFixed(0)} bytes per parameter).`;
  }
  const s = cell.peakBytes;
  const rel = (s - p.peakTotal) / p.peakTotal;
  const out: string[] = [`${head} seed ${gb(s)} (printed ${seedPrintedValue(s).toExponential(3)} "MBytes", really kilobytes); ${predicted}; ${oomSentence(p, capacities)}.`];
  if (Math.abs(rel) <= 0.05) out.push(`Agrees (seed ${signedPct(rel)}).`);
  else {
    out.push(`Disagrees: the seed is ${gb2(Math.abs(s - p.peakTotal))} ${s > p.peakTotal ? 'higher' : 'lower'} (${signedPct(rel)}).`);
    const floor = updateFloorBytes(p);
    const paramBytes = 4 * p.parameters.trainable;
    if (s < floor) {
      out.push(`It is below the ${gb2(floor)} that f32 weights (${gb2(p.start.parametersTrainable + p.start.parametersFrozen)}), their f32 gradients (${gb2(paramBytes)}) and AdamW's m and v (${gb2(2 * paramBytes)}) need at any step that updates the weights, ` +
        'so the seed\'s run never held f32 AdamW state at its peak: either the GradScaler skipped every step (the state is created at the first step taken) or the weights were not f32 (e.g. model.half()).');
      // The two readings, in bytes: no AdamW state (f32 weights + f32 gradients + autocast copies + activations), or everything in f16 (2+2+4 bytes per parameter).
      const noState = p.start.parametersTrainable + p.start.parametersFrozen + paramBytes + p.maxByCategory.autocastWeightCopies + p.maxByCategory.savedActivations;
      const allHalf = (p.start.parametersTrainable + p.start.parametersFrozen) / 2 + paramBytes / 2 + paramBytes + p.maxByCategory.savedActivations / 2;
      const [best, other] = Math.abs(noState - s) <= Math.abs(allHalf - s) ? [['no AdamW state', noState], ['all-f16 training', allHalf]] as const : [['all-f16 training', allHalf], ['no AdamW state', noState]] as const;
      out.push(`In bytes: with no AdamW state (f32 weights and gradients, the autocast copies, the saved activations) the step holds ${gb2(noState)}; all-f16 training (f16 weights and gradients, f16 m and v) would hold about ${gb2(allHalf)}. ` +
        `The seed's ${gb(s)} is closest to ${best[0]} (${signedPct((s - best[1]) / best[1])}; ${other[0]}: ${signedPct((s - other[1]) / other[1])}).`);
    } else if (s > p.peakTotal) {
      // PyTorch's default (foreach) AdamW computes intermediates the size of all parameters during the step.
      const withOneBuffer = floor + paramBytes;
      const perParam = s / p.parameters.total;
      out.push(Math.abs(s - withOneBuffer) / s <= 0.03
        ? `The seed's peak is ${perParam.toFixed(1)} bytes per parameter: f32 weights, gradients, AdamW's m and v (16 bytes) plus one more parameter-sized f32 buffer (${gb2(withOneBuffer)} in all) — ` +
          'the optimizer step\'s peak under PyTorch\'s default multi-tensor (foreach) AdamW, whose intermediates are the size of all parameters. ' +
          `gradlab's AdamW updates each parameter in one fused kernel with no such buffer, so its peak is elsewhere (${p.location?.description ?? 'no place'}).` +
          (cell.accumulation ? ' A peak in the optimizer step is also why GA leaves the seed\'s figure unchanged.' : '')
        : `The excess (${((s - p.peakTotal) / paramBytes).toFixed(2)}x the f32 trainable bytes) is not explained by the model's terms: framework or allocator buffers outside gradlab's categories.`);
    }
  }
  if (cell.mixedPrecision) {
    const noMp = related('mixedPrecision');
    const seedNoMp = findSeedCell(cell.layers, cell.accumulation, false, cell.lora);
    const rise = p.peakTotal - noMp.peakTotal;
    const seedRise = seedNoMp?.peakBytes != null ? s - seedNoMp.peakBytes : null;
    out.push(`MP ${rise >= 0 ? 'raises' : 'lowers'} the predicted peak by ${gb2(Math.abs(rise))}${seedRise !== null ? ` (the seed: ${seedRise >= 0 ? '+' : '−'}${gb2(Math.abs(seedRise))})` : ''}; ` +
      `autocast weight copies reach ${gb2(p.maxByCategory.autocastWeightCopies)} (${gb2(p.peak.autocastWeightCopies)} at the peak), saved activations ${gb2(p.maxByCategory.savedActivations)} at most vs ${gb2(noMp.maxByCategory.savedActivations)} without MP` +
      (cell.lora ? ' — the f16 copies of the frozen weights, cast at each use and kept by the tape for the input gradients LoRA needs.' : '.'));
  }
  if (cell.accumulation) {
    const noGa = related('accumulation');
    const seedNoGa = findSeedCell(cell.layers, false, cell.mixedPrecision, cell.lora);
    const d = p.peakTotal - noGa.peakTotal;
    out.push(`GA with the same micro-batch: the predicted peak changes by ${d >= 0 ? '+' : '−'}${gb2(Math.abs(d))} (gradients live during the next micro-batch: ${gb2(p.peak.gradients)} at the peak)` +
      `${seedNoGa?.peakBytes != null ? `; the seed's by ${gb2(s - seedNoGa.peakBytes)}` : ''}.`);
  }
  return out.join(' ');
}

function runtimeSentences(measured: readonly MatrixResult[]): string[] {
  const out: string[] = [];
  const seedRatio = (layers: 8 | 32, lora: boolean, from: { ga: boolean; mp: boolean }, to: { ga: boolean; mp: boolean }) => {
    const a = findSeedCell(layers, from.ga, from.mp, lora)?.runtimeSeconds;
    const b = findSeedCell(layers, to.ga, to.mp, lora)?.runtimeSeconds;
    return a && b ? a / b : null;
  };
  for (const [layers, lora] of [[8, false], [32, true]] as const) {
    const mp = seedRatio(layers, lora, { ga: false, mp: false }, { ga: false, mp: true });
    const ga = seedRatio(layers, lora, { ga: false, mp: false }, { ga: true, mp: false });
    const m = measured.find((x) => x.model.layers === layers);
    const base = lora ? 'LoRA' : 'plain';
    const mr = m ? ratioOf(m, base, lora ? 'MP+LoRA' : 'MP') : null;
    const gr = m ? ratioOf(m, base, lora ? 'GA+LoRA' : 'GA', true) : null;
    const times = (r: number) => `takes ${(1 / r).toFixed(2)}x the time`;
    out.push(`${layers} layers, ${lora ? 'LoRA' : 'full fine-tuning'}: the seed's MP run was ${mp?.toFixed(2)}x faster (A100 f16 tensor cores)` +
      (mr !== null ? `; measured here (${m!.machine.backend}, small preset) MP ${mr >= 1 ? `is ${mr.toFixed(2)}x faster` : `${times(mr)} (no f16 arithmetic: f16 values are converted to f32 for arithmetic, plus the casts)`}` : '') + '. ' +
      `GA (same micro-batch, the optimizer stepping ${SEED_SETTINGS.accumulate}x less often) made the seed ${ga?.toFixed(2)}x faster` +
      (gr !== null ? `; measured here (k = ${m!.settings.accumulate}) GA ${times(gr)} per micro-batch` : '') +
      (lora ? ' (LoRA\'s optimizer step is tiny, so there is little to save).' : ' (the AdamW step over every parameter is a large part of a full fine-tuning step).'));
  }
  return out;
}

/** speed ratio base/other of time per micro-batch (> 1: `other` is faster). */
function ratioOf(m: MatrixResult, base: string, other: string, perMicroBatch = false): number | null {
  const a = m.combinations.find((r) => r.name === base);
  const b = m.combinations.find((r) => r.name === other);
  if (!a || !b) return null;
  const t = (r: CombinationResult) => (perMicroBatch ? r.msPerStep / r.microBatchesPerStep : r.msPerStep);
  return t(a) / t(b);
}

export function buildTable2(input: Table2Input): Table2 {
  const layers = input.layers ?? TABLE_2_LAYERS;
  const capacities = input.capacities ?? A100_CAPACITIES;
  const predict = input.predict === undefined ? predictSeedSetting : input.predict;
  const cache = new Map<string, TrainingMemoryPrediction>();
  const predicted = (l: number, c: Combination): TrainingMemoryPrediction | null => {
    if (!predict) return null;
    const key = `${l}:${combinationName(c)}`;
    if (!cache.has(key)) cache.set(key, predict(l, c));
    return cache.get(key)!;
  };
  const rows: Table2Row[] = table2Combinations().map((c) => ({
    name: combinationName(c),
    combination: c,
    cells: layers.map((l) => {
      const m = input.measured.find((x) => x.model.layers === l);
      const p = predicted(l, c);
      return {
        layers: l,
        measured: m?.combinations.find((r) => r.name === combinationName(c)) ?? null,
        predicted: p,
        exceeds: Object.fromEntries(capacities.map((cap) => [cap, p ? p.peakTotal > cap : false])),
        seed: c.checkpointing || c.f16Base ? null : findSeedCell(l, c.accumulation, c.mixedPrecision, c.lora),
      };
    }),
  }));
  const seedExplanations = predict
    ? SEED_CELLS.map((cell) => {
        const c: Combination = { accumulation: cell.accumulation, checkpointing: false, mixedPrecision: cell.mixedPrecision, lora: cell.lora, f16Base: false };
        return explainSeedCell(cell, predicted(cell.layers, c)!, (flip) => predicted(cell.layers, { ...c, [flip]: !c[flip] })!, capacities);
      })
    : [];
  const measuredSettings = input.measured.map((m) => `${m.model.layers} layer${m.model.layers === 1 ? '' : 's'}: ${m.settings.preset} dim ${m.model.dim}, vocab ${m.model.vocabSize}, batch ${m.settings.batchSize} x seq ${m.settings.seqLen}, GA x${m.settings.accumulate}, ${m.machine.backend} (\`${m.command}\`)`);
  return { rows, layers, capacities, seedExplanations, runtimeExplanations: runtimeSentences(input.measured), measuredSettings };
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(2);

export function table2Markdown(t: Table2): string {
  const on = (b: boolean) => (b ? 'on' : 'off');
  const header = ['GA', 'CK', 'MP', 'LoRA', ...t.layers.map((l) => `small, ${l}L (MiB)`), ...t.layers.map((l) => `7B, ${l}L predicted`), ...t.layers.filter((l) => l === 8 || l === 32).map((l) => `seed, ${l}L`)];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  const seedLayers = t.layers.filter((l) => l === 8 || l === 32);
  for (const r of t.rows) {
    const c = r.combination;
    const measured = r.cells.map((cell) => (cell.measured ? mib(cell.measured.peak.totalBytes) : '—'));
    const predicted = r.cells.map((cell) => {
      if (!cell.predicted) return '—';
      const over = t.capacities.filter((cap) => cell.exceeds[cap]).map((cap) => `✗${capacityLabel(cap).replace(' GB', '')}`);
      return `${gb2(cell.predicted.peakTotal)}${over.length ? ` ${over.join(' ')}` : ''}`;
    });
    const seed = seedLayers.map((l) => {
      const cell = r.cells.find((x) => x.layers === l)!;
      if (!cell.seed) return c.checkpointing || c.f16Base ? '(not run)' : '—';
      return cell.seed.peakBytes === null ? 'OOM' : `${gb(cell.seed.peakBytes)}, ${cell.seed.runtimeSeconds} s`;
    });
    lines.push(`| ${[on(c.accumulation), on(c.checkpointing), c.f16Base ? 'on (f16 base)' : on(c.mixedPrecision), on(c.lora), ...measured, ...predicted, ...seed].join(' | ')} |`);
  }
  const out = [
    lines.join('\n'),
    '',
    `✗40 / ✗80: the predicted peak exceeds a ${t.capacities.map(capacityLabel).join(' / ')} A100 (GiB, as nvidia-smi reports the cards), so the run must fail there whatever the allocator does. ` +
      'Seed figures: `max_memory_allocated()/1000` printed as "MBytes" — the values are kilobytes, so 3.13e7 is 31.3 GB.',
    '',
    'Measured (small preset):',
    '',
    ...t.measuredSettings.map((s) => `- ${s}`),
    '',
    'The seed\'s cells, explained from the numbers:',
    '',
    ...t.seedExplanations.map((s) => `- ${s}`),
    '',
    'Runtime:',
    '',
    ...t.runtimeExplanations.map((s) => `- ${s}`),
  ];
  return `${out.join('\n')}\n`;
}
