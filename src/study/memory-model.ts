// The memory model: what one optimizer step of finetune()'s loop will hold,
// predicted from shapes alone, without allocating a tensor. It runs the step
// symbolically (memory-model-program.ts over memory-model-engine.ts): every
// op's allocations, saved tensors and frees, from the ops' `saves` contracts
// and the lifetime rules, in program order. So it gives what a closed formula
// cannot: the peak with the exact breakdown at that moment (transients
// included), each category's own maximum, and the op, module and phase the
// peak falls in, for the first step (AdamW creates its state lazily) and the
// steady state. docs/memory-model.md writes the terms out.

import { countParameters, headDimOf, hiddenDimOf, kvHeadsOf } from '../nn/model-args.js';
import { MEMORY_CATEGORIES, formatBytes, type CategoryBytes, type MemoryCategory } from '../tensor/memory-ledger.js';
import type { Phase } from '../tensor/work-counter.js';
import { allCombinations, combinationName, type Combination } from './matrix-combinations.js';
import type { SimStorageSnapshot } from './memory-model-engine.js';
import { simulateTraining, type SimulatedStep } from './memory-model-program.js';
import { describeSpec, resolveTrainingMemorySpec, type TrainingMemoryOptions, type TrainingMemorySpec } from './memory-model-spec.js';

export interface PredictedPeakPlace {
  readonly op: string | null;
  readonly module: string | null;
  readonly phase: Phase;
  /** The kernel op, for an allocation outside any differentiable op (`fill` in the optimizer step). */
  readonly kernel: string | null;
  /** As the memory timeline words it: "backward of layers.0.feed_forward.w1 (op permute)". */
  readonly description: string;
}

export interface StepMemoryPrediction {
  readonly peakTotal: number;
  /** Bytes per category at the moment of the peak. */
  readonly peak: CategoryBytes;
  /** Each category's own highest value during the step (reached at different moments). */
  readonly maxByCategory: CategoryBytes;
  readonly location: PredictedPeakPlace | null;
  /** Live bytes after the step (optimizer.zeroGrad done). */
  readonly liveAfter: CategoryBytes;
}

export interface TrainingMemoryPrediction {
  readonly spec: TrainingMemorySpec;
  /** E.g. "GA8+CK(two-segments)+MP+LoRA(r16,wq/wv,p0.05)". */
  readonly techniques: string;
  readonly parameters: { readonly total: number; readonly trainable: number; readonly frozen: number };
  /** Live bytes before the first step: parameters, plus the rotary tables (temporaries). */
  readonly start: CategoryBytes;
  readonly firstStep: StepMemoryPrediction;
  readonly steadyState: StepMemoryPrediction;
  /** The higher of the two steps' peaks, with its breakdown and place. */
  readonly peakTotal: number;
  readonly peak: CategoryBytes;
  readonly location: PredictedPeakPlace | null;
  readonly peakStep: 'first' | 'steady';
  /** Each category's own maximum over both steps. */
  readonly maxByCategory: CategoryBytes;
  /** What the prediction assumes (it holds exactly under these; see docs/memory-model.md). */
  readonly assumptions: readonly string[];
}

export const PREDICTION_ASSUMPTIONS: readonly string[] = [
  'logical tensor bytes, as the memory ledger counts them: a backend\'s pool rounding, idle reserved blocks and kernel-internal workspaces are not included',
  'fused kernels implemented natively (the CPU backend; a backend that falls back to a composite kernel adds that kernel\'s scratch as temporaries)',
  'every micro-batch has the full (batchSize, seqLen) shape, as with batches padded to a fixed length',
  'GradScaler takes the step (finite gradients): a skipped step creates no optimizer state',
  'AdamW over the trainable parameters, zeroGrad(setToNone) after each step, as finetune() runs them',
];

const total = (c: CategoryBytes) => MEMORY_CATEGORIES.reduce((s, k) => s + c[k], 0);

function describePlace(place: { op: string | null; module: string | null; phase: Phase; kernel: string | null }): string {
  const what = [place.op ? `op ${place.op}` : null, place.kernel ? `kernel ${place.kernel}` : null].filter(Boolean).join(', ');
  const head = place.phase === 'optimizer' ? 'optimizer step' : place.module ? `${place.phase} of ${place.module}` : `${place.phase}, outside any module`;
  return what ? `${head} (${what})` : head;
}

function stepPrediction(s: SimulatedStep): StepMemoryPrediction {
  return {
    peakTotal: s.peakTotal,
    peak: s.peak,
    maxByCategory: s.maxByCategory,
    location: s.place ? { ...s.place, description: describePlace(s.place) } : null,
    liveAfter: s.live,
  };
}

/**
 * Predicts the memory of finetune()'s optimizer steps for a model and a set of
 * techniques, from shapes alone: nothing is allocated, and a 32-layer 7B
 * step takes a fraction of a second.
 */
export function predictTrainingMemory(options: TrainingMemoryOptions | TrainingMemorySpec = {}): TrainingMemoryPrediction {
  const spec = resolveTrainingMemorySpec(options);
  const sim = simulateTraining(spec, 2);
  const [first, steady] = sim.steps.map(stepPrediction);
  const steadyWins = steady.peakTotal > first.peakTotal;
  const top = steadyWins ? steady : first;
  const maxByCategory = Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, Math.max(first.maxByCategory[c], steady.maxByCategory[c])])) as CategoryBytes;
  const all = countParameters(spec.model);
  const loraParams = spec.lora
    ? spec.model.nLayers * spec.lora.targets.reduce((n, t) => n + spec.lora!.r * projectionInOut(spec, t).reduce((a, b) => a + b, 0), 0)
    : 0;
  const trainable = spec.lora ? loraParams : all;
  return {
    spec,
    techniques: describeSpec(spec),
    parameters: { total: all + loraParams, trainable, frozen: all + loraParams - trainable },
    start: sim.start,
    firstStep: first,
    steadyState: steady,
    peakTotal: top.peakTotal,
    peak: top.peak,
    location: top.location,
    peakStep: steadyWins ? 'steady' : 'first',
    maxByCategory,
    assumptions: PREDICTION_ASSUMPTIONS,
  };
}

/** (in, out) features of a projection of the spec's model. */
function projectionInOut(spec: TrainingMemorySpec, name: string): [number, number] {
  const a = spec.model;
  const hd = headDimOf(a);
  const kv = kvHeadsOf(a) * hd;
  const F = hiddenDimOf(a);
  switch (name) {
    case 'wq': return [a.dim, a.nHeads * hd];
    case 'wk': case 'wv': return [a.dim, kv];
    case 'wo': return [a.nHeads * hd, a.dim];
    case 'w1': case 'w3': return [a.dim, F];
    case 'w2': return [F, a.dim];
    default: throw new Error(`memory model: unknown projection '${name}'`);
  }
}

const LABELS: Record<MemoryCategory, string> = {
  parametersTrainable: 'parameters (trainable)',
  parametersFrozen: 'parameters (frozen)',
  gradients: 'gradients',
  optimizerState: 'optimizer state',
  savedActivations: 'saved activations',
  autocastWeightCopies: 'autocast weight copies',
  temporaries: 'temporaries',
};

/** Decimal gigabytes, as GPU capacities and the seed's tables are quoted. */
export const gigabytes = (bytes: number): string => `${(bytes / 1e9).toFixed(2)} GB`;

/** A readable report: the breakdown at each step's peak, each category's own maximum, and where the peak falls. */
export function formatMemoryPrediction(p: TrainingMemoryPrediction): string {
  const a = p.spec.model;
  const head = [
    `memory model: ${a.nLayers} layers, dim ${a.dim}, ${a.nHeads} heads (${a.nKvHeads ?? a.nHeads} kv), vocab ${a.vocabSize}; ` +
      `batch ${p.spec.batchSize} x seq ${p.spec.seqLen}; f32 master weights; ${p.techniques}`,
    `parameters: ${p.parameters.total.toLocaleString('en-US')} (${p.parameters.trainable.toLocaleString('en-US')} trainable)`,
    '',
  ];
  type Row = [string, string, string, string, string];
  const rows: Row[] = MEMORY_CATEGORIES.map((c) => [LABELS[c], formatBytes(p.start[c]), formatBytes(p.firstStep.peak[c]), formatBytes(p.steadyState.peak[c]), formatBytes(p.maxByCategory[c])]);
  rows.push(['total', formatBytes(total(p.start)), formatBytes(p.firstStep.peakTotal), formatBytes(p.steadyState.peakTotal), '']);
  const header: Row = ['category', 'before step 1', 'at first-step peak', 'at steady peak', 'own max'];
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(header[i].length, ...rows.map((r) => r[i].length)));
  const line = (r: Row) => [r[0].padEnd(widths[0]), ...[1, 2, 3, 4].map((i) => r[i].padStart(widths[i]))].join('  ').trimEnd();
  const table = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  const where = (s: StepMemoryPrediction) => s.location?.description ?? 'no allocation above the starting bytes';
  return [
    ...head,
    ...table,
    '',
    `first step:   peak ${formatBytes(p.firstStep.peakTotal)} (${gigabytes(p.firstStep.peakTotal)}) at ${where(p.firstStep)}`,
    `steady state: peak ${formatBytes(p.steadyState.peakTotal)} (${gigabytes(p.steadyState.peakTotal)}) at ${where(p.steadyState)}`,
    `peak: ${formatBytes(p.peakTotal)} (${gigabytes(p.peakTotal)}), in the ${p.peakStep === 'first' ? 'first step' : 'steady state'}`,
  ].join('\n');
}

// ---- the study's Table 2: every combination at once ----

export interface TechniqueMatrixOptions {
  /** Micro-batches per step when accumulation is on (the seed: 8). */
  accumulate?: number;
  /** The checkpointing mode when checkpointing is on (the seed's layout: two-segments). */
  checkpointing?: 'block' | 'two-segments';
  /** Add the f16-frozen-base variant after each mixed-precision row (default true). */
  f16BaseVariants?: boolean;
  /** GPU capacities to check, in bytes (default 40 and 80 GiB: the A100's two sizes). */
  capacities?: readonly number[];
}

export interface TechniqueMatrixRow {
  readonly combination: Combination;
  /** "plain", "GA+CK+MP+LoRA", "MP+f16-base+LoRA" (matrix-combinations.ts's names). */
  readonly name: string;
  readonly prediction: TrainingMemoryPrediction;
  /** capacity (bytes) -> whether the predicted peak exceeds it (the run must fail there, before any allocator overhead). */
  readonly exceeds: Record<number, boolean>;
}

/** The A100's two sizes: 40 GiB and 80 GiB of device memory. */
export const A100_CAPACITIES: readonly number[] = [40 * 2 ** 30, 80 * 2 ** 30];

/**
 * Predicts all 16 combinations of accumulation x checkpointing x mixed
 * precision x LoRA, each mixed-precision row followed by its f16-base variant
 * (24 rows, the matrix's order), for one model and shape. LoRA rows use
 * `base.lora` or the seed's adapter. Under full fine-tuning nothing is
 * frozen, so an f16-base variant predicts the same as its MP row.
 */
export function predictTechniqueMatrix(base: TrainingMemoryOptions = {}, options: TechniqueMatrixOptions = {}): TechniqueMatrixRow[] {
  const k = options.accumulate ?? 8;
  const ck = options.checkpointing ?? 'two-segments';
  const capacities = options.capacities ?? A100_CAPACITIES;
  return allCombinations({ f16BaseVariants: options.f16BaseVariants ?? true }).map((c) => {
    const prediction = predictTrainingMemory({
      ...base,
      accumulate: c.accumulation ? k : 1,
      checkpointing: c.checkpointing ? ck : 'none',
      mixedPrecision: c.mixedPrecision,
      f16Base: c.f16Base,
      lora: c.lora ? (base.lora ?? {}) : null,
    });
    return { combination: c, name: combinationName(c), prediction, exceeds: Object.fromEntries(capacities.map((cap) => [cap, prediction.peakTotal > cap])) };
  });
}

/** Table 2 as Markdown: one row per combination, peak and the categories that make it, and the capacity checks. */
export function formatTechniqueMatrix(rows: readonly TechniqueMatrixRow[]): string {
  const capacities = rows.length ? Object.keys(rows[0].exceeds).map(Number) : [];
  const capLabel = (c: number) => (c % 2 ** 30 === 0 ? `> ${c / 2 ** 30} GiB` : `> ${gigabytes(c)}`);
  const header = ['combination', 'peak', 'params', 'grads', 'optimizer', 'saved act.', 'autocast copies', 'temporaries', 'peak at', ...capacities.map(capLabel)];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const p = r.prediction;
    const params = p.peak.parametersTrainable + p.peak.parametersFrozen;
    lines.push(`| ${[r.name, gigabytes(p.peakTotal), gigabytes(params),
      gigabytes(p.peak.gradients), gigabytes(p.peak.optimizerState), gigabytes(p.peak.savedActivations), gigabytes(p.peak.autocastWeightCopies),
      gigabytes(p.peak.temporaries), p.location?.description ?? '', ...capacities.map((c) => (r.exceeds[c] ? 'OOM' : 'fits'))].join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * The saved-activation bytes one transformer block adds, read off the model:
 * the own maximum of saved activations (the end of the forward, without
 * checkpointing) with `layers + 1` blocks minus that with `layers` blocks. A
 * block after the first has an input that requires grad, under LoRA too.
 */
export function blockSavedActivationsFromModel(options: TrainingMemoryOptions): number {
  const base = { ...options, checkpointing: 'none' as const, accumulate: 1 };
  const withLayers = (n: number): TrainingMemoryOptions => (base.model ? { ...base, model: { ...base.model, nLayers: n } } : { ...base, layers: n });
  const one = predictTrainingMemory(withLayers(1));
  const two = predictTrainingMemory(withLayers(2));
  return two.maxByCategory.savedActivations - one.maxByCategory.savedActivations;
}

// ---- what the peak is made of ----

export interface PeakComponent {
  readonly category: MemoryCategory;
  /** What allocated these storages, layer indices folded: "rotary in layers.*.attention (forward)". */
  readonly source: string;
  readonly storages: number;
  readonly bytes: number;
}

export interface PeakExplanation {
  readonly step: 'first' | 'steady';
  readonly totalBytes: number;
  readonly location: PredictedPeakPlace | null;
  /** Per category (the ledger's order), the live storages at the peak grouped by what allocated them, largest first. */
  readonly components: PeakComponent[];
}

/** Categories whose storages are explained by their role alone (one row each). */
const BY_ROLE: Partial<Record<MemoryCategory, string>> = {
  parametersTrainable: 'trainable parameters',
  parametersFrozen: 'frozen parameters',
  gradients: 'parameter gradients (.grad)',
  optimizerState: "AdamW's m and v",
};

/** A component's label: the op (or, outside any op, the kernel) that allocated it, its module with layer indices folded, the phase. */
export function peakComponentSource(place: { op: string | null; module: string | null; phase: Phase; kernel: string | null }): string {
  const what = place.op ?? (place.kernel ? `kernel ${place.kernel}` : 'no op');
  const where = place.module ? ` in ${place.module.replace(/layers\.\d+/g, 'layers.*')}` : '';
  return `${what}${where} (${place.phase})`;
}

/**
 * Which storages are live at the predicted peak and what made them: runs the
 * step again and takes a snapshot at the peak allocation. `which` picks the
 * overall peak (default), the first step's or the steady state's.
 */
export function explainPeak(options: TrainingMemoryOptions, which: 'peak' | 'first' | 'steady' = 'peak'): PeakExplanation {
  const spec = resolveTrainingMemorySpec(options);
  const sim = simulateTraining(spec, 2);
  const step = which === 'first' ? 0 : which === 'steady' ? 1 : sim.steps[1].peakTotal > sim.steps[0].peakTotal ? 1 : 0;
  const chosen = sim.steps[step];
  let live: SimStorageSnapshot[] = [];
  if (chosen.peakEvent >= 0) simulateTraining(spec, 2, { atEvent: chosen.peakEvent, take: (l) => { live = l; } });
  const groups = new Map<string, { category: MemoryCategory; source: string; storages: number; bytes: number }>();
  for (const st of live) {
    const source = BY_ROLE[st.category] ?? peakComponentSource(st.origin);
    const key = `${st.category}\u0000${source}`;
    const g = groups.get(key) ?? { category: st.category, source, storages: 0, bytes: 0 };
    g.storages++;
    g.bytes += st.bytes;
    groups.set(key, g);
  }
  const order = (c: MemoryCategory) => MEMORY_CATEGORIES.indexOf(c);
  const components = [...groups.values()].sort((a, b) => order(a.category) - order(b.category) || b.bytes - a.bytes || a.source.localeCompare(b.source));
  const prediction = stepPrediction(chosen);
  return { step: step === 0 ? 'first' : 'steady', totalBytes: chosen.peakTotal, location: prediction.location, components };
}

/** The explanation as text: per category, its total and its largest components. */
export function formatPeakExplanation(e: PeakExplanation, perCategory = 6): string {
  const lines = [`at the ${e.step === 'first' ? 'first-step' : 'steady-state'} peak (${formatBytes(e.totalBytes)}, ${e.location?.description ?? 'no allocation'}):`];
  for (const c of MEMORY_CATEGORIES) {
    const parts = e.components.filter((p) => p.category === c);
    if (parts.length === 0) continue;
    const sum = parts.reduce((s, p) => s + p.bytes, 0);
    lines.push(`  ${LABELS[c]}: ${formatBytes(sum)}`);
    for (const p of parts.slice(0, perCategory)) lines.push(`    ${formatBytes(p.bytes).padStart(11)}  ${String(p.storages).padStart(5)} x  ${p.source}`);
    if (parts.length > perCategory) {
      const rest = parts.slice(perCategory);
      lines.push(`    ${formatBytes(rest.reduce((s, p) => s + p.bytes, 0)).padStart(11)}  ${String(rest.reduce((s, p) => s + p.storages, 0)).padStart(5)} x  (${rest.length} more source${rest.length === 1 ? '' : 's'})`);
    }
  }
  return lines.join('\n');
}
