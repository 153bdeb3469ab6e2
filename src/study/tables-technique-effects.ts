// Table 1: each technique alone against the plain baseline, measured. Per
// memory category the change in bytes (each category's own maximum over the
// run, so a category's cost shows even when the peak falls elsewhere), the
// change in the peak, and the change in FLOPs per micro-batch by phase. Every
// arrow and every word of the verdict is computed from those numbers, so a
// changed measurement changes the table.

import { MEMORY_CATEGORIES, formatBytes, type MemoryCategory } from '../tensor/memory-ledger.js';
import { PHASES, type Phase } from '../tensor/work-counter.js';
import { CATEGORY_LABELS } from './charts.js';
import { combinationName, PLAIN, type Combination } from './matrix-combinations.js';
import type { CombinationResult } from './matrix-runner.js';
import { TABLE_1_CLAIMS, type TechniqueClaim } from './seed-study.js';

export type Arrow = '↓' | '↑' | '=';

/** The direction of a change: '=' when |after - before| <= tolerance (bytes are exact, so the default is 0). */
export function arrow(before: number, after: number, tolerance = 0): Arrow {
  if (!Number.isFinite(before) || !Number.isFinite(after)) throw new Error(`arrow: expected finite numbers, got ${before} -> ${after}`);
  const d = after - before;
  if (Math.abs(d) <= tolerance) return '=';
  return d < 0 ? '↓' : '↑';
}

export interface Change {
  readonly before: number;
  readonly after: number;
  readonly delta: number;
  /** delta / before (null when before is 0). */
  readonly relative: number | null;
  readonly arrow: Arrow;
}

export function change(before: number, after: number): Change {
  return { before, after, delta: after - before, relative: before === 0 ? null : (after - before) / before, arrow: arrow(before, after) };
}

/** The single-technique rows of Table 1. */
export const TABLE_1_TECHNIQUES: readonly { readonly label: string; readonly claim: TechniqueClaim['technique']; readonly combination: Combination }[] = [
  { label: 'gradient accumulation (GA)', claim: 'accumulation', combination: { ...PLAIN, accumulation: true } },
  { label: 'gradient checkpointing (CK)', claim: 'checkpointing', combination: { ...PLAIN, checkpointing: true } },
  { label: 'mixed precision (MP)', claim: 'mixedPrecision', combination: { ...PLAIN, mixedPrecision: true } },
  { label: 'MP with f16 frozen base', claim: 'mixedPrecision', combination: { ...PLAIN, mixedPrecision: true, f16Base: true } },
  { label: 'LoRA', claim: 'lora', combination: { ...PLAIN, lora: true } },
];

export interface TechniqueEffect {
  readonly technique: string;
  readonly combination: string;
  /** Each category's own maximum, technique vs plain. */
  readonly categories: Record<MemoryCategory, Change>;
  readonly peak: Change;
  /** The breakdown at the peak, technique vs plain. */
  readonly atPeak: Record<MemoryCategory, Change>;
  readonly firstStepPeak: Change;
  /** FLOPs per micro-batch by phase (a GA step holds k micro-batches). */
  readonly flops: Record<Phase, Change> & { readonly total: Change };
  readonly msPerMicroBatch: Change;
  /** Where the claimed table was right and where the measurements disagree, in words from the numbers. */
  readonly verdict: string;
}

/** The claim categories in ledger categories. */
const CLAIM_CATEGORIES: Record<TechniqueClaim['lowers'][number], readonly MemoryCategory[]> = {
  parameters: ['parametersTrainable', 'parametersFrozen'],
  gradients: ['gradients'],
  optimizerState: ['optimizerState'],
  activations: ['savedActivations'],
};

const CLAIM_WORDS: Record<TechniqueClaim['lowers'][number], string> = {
  parameters: 'parameter memory', gradients: 'gradient memory', optimizerState: 'optimizer-state memory', activations: 'saved activations',
};

function sumChange(changes: Record<MemoryCategory, Change>, cats: readonly MemoryCategory[]): Change {
  return change(cats.reduce((s, c) => s + changes[c].before, 0), cats.reduce((s, c) => s + changes[c].after, 0));
}

export function formatSignedBytes(delta: number): string {
  return delta === 0 ? '0 B' : `${delta > 0 ? '+' : '−'}${formatBytes(Math.abs(delta))}`;
}

function percent(c: Change): string {
  if (c.relative === null || c.relative === 0) return '';
  const p = Math.abs(c.relative * 100);
  return ` (${c.relative > 0 ? '+' : '−'}${p < 0.01 ? '<0.01' : p < 1 ? p.toFixed(2) : p.toFixed(0)}%)`;
}

/** "↓ −1.25 MiB (−45%)". */
export function describeChange(c: Change): string {
  return c.arrow === '=' ? '= unchanged' : `${c.arrow} ${formatSignedBytes(c.delta)}${percent(c)}`;
}

function verdictFor(claim: TechniqueClaim, categories: Record<MemoryCategory, Change>, peak: Change, atPeak: Record<MemoryCategory, Change>): string {
  const right: string[] = [];
  const wrong: string[] = [];
  for (const kind of claim.lowers) {
    const c = sumChange(categories, CLAIM_CATEGORIES[kind]);
    const words = `${CLAIM_WORDS[kind]} ${describeChange(c)}`;
    (c.arrow === '↓' ? right : wrong).push(words);
  }
  const claimed = new Set(claim.lowers);
  const alsoLower: string[] = [];
  const rises: string[] = [];
  for (const [kind, cats] of Object.entries(CLAIM_CATEGORIES) as [TechniqueClaim['lowers'][number], readonly MemoryCategory[]][]) {
    if (claimed.has(kind)) continue;
    const c = sumChange(categories, cats);
    if (c.arrow === '↓') alsoLower.push(`${CLAIM_WORDS[kind]} ${describeChange(c)}`);
    if (c.arrow === '↑') rises.push(`${CLAIM_WORDS[kind]} ${describeChange(c)}`);
  }
  for (const cat of ['autocastWeightCopies', 'temporaries'] as const) {
    const c = categories[cat];
    if (c.arrow === '↑') rises.push(`${CATEGORY_LABELS[cat]} ${describeChange(c)}`);
    if (c.arrow === '↓') alsoLower.push(`${CATEGORY_LABELS[cat]} ${describeChange(c)}`);
  }
  const who = claim.source === 'seed' ? "The seed's table" : 'The usual claim';
  const parts: string[] = [];
  parts.push(`${who} says it lowers ${claim.lowers.map((k) => CLAIM_WORDS[k]).join(' and ')}.`);
  if (right.length) parts.push(`Right: ${right.join('; ')}.`);
  if (wrong.length) parts.push(`Wrong here: ${wrong.join('; ')}.`);
  if (alsoLower.length) parts.push(`Not in the claim, also lower: ${alsoLower.join('; ')}.`);
  if (rises.length) parts.push(`Costs: ${rises.join('; ')}.`);
  // The peak is a moment: a technique can move it without changing any category's own maximum (GA's gradients live during the next forward).
  const moved = MEMORY_CATEGORIES.filter((c) => atPeak[c].arrow !== '=').map((c) => `${CATEGORY_LABELS[c]} ${describeChange(atPeak[c])}`);
  parts.push(`Peak ${describeChange(peak)}${moved.length ? `; at the peak: ${moved.join(', ')}` : ''}.`);
  return parts.join(' ');
}

/** Table 1 from a matrix's results (needs 'plain' and each single-technique combination). */
export function techniqueEffects(results: readonly CombinationResult[]): TechniqueEffect[] {
  const byName = new Map(results.map((r) => [r.name, r]));
  const plain = byName.get('plain');
  if (!plain) throw new Error(`techniqueEffects: the results have no 'plain' combination (present: ${results.map((r) => r.name).join(', ')})`);
  const perMicro = (r: CombinationResult, p: Phase) => r.flopsPerStep[p] / r.microBatchesPerStep;
  const out: TechniqueEffect[] = [];
  for (const t of TABLE_1_TECHNIQUES) {
    const name = combinationName(t.combination);
    const r = byName.get(name);
    if (!r) continue;
    const categories = Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, change(plain.maxByCategory[c], r.maxByCategory[c])])) as Record<MemoryCategory, Change>;
    const peak = change(plain.peak.totalBytes, r.peak.totalBytes);
    const atPeak = Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, change(plain.peak.byCategory[c], r.peak.byCategory[c])])) as Record<MemoryCategory, Change>;
    const flops = Object.fromEntries(PHASES.map((p) => [p, change(perMicro(plain, p), perMicro(r, p))])) as Record<Phase, Change>;
    const totalFlops = change(plain.flopsPerStep.total / plain.microBatchesPerStep, r.flopsPerStep.total / r.microBatchesPerStep);
    const claim = TABLE_1_CLAIMS.find((c) => c.technique === t.claim)!;
    out.push({
      technique: t.label, combination: name, categories, peak, atPeak,
      firstStepPeak: change(plain.firstStepPeak.totalBytes, r.firstStepPeak.totalBytes),
      flops: { ...flops, total: totalFlops },
      msPerMicroBatch: change(plain.msPerStep / plain.microBatchesPerStep, r.msPerStep / r.microBatchesPerStep),
      verdict: verdictFor(claim, categories, peak, atPeak),
    });
  }
  return out;
}

export function formatFlopsChange(c: Change): string {
  if (c.arrow === '=') return '=';
  const mag = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : `${n} `);
  return `${c.arrow} ${c.delta > 0 ? '+' : '−'}${mag(Math.abs(c.delta))}FLOP${percent(c)}`;
}

const TABLE_1_CATEGORIES: readonly MemoryCategory[] = ['parametersTrainable', 'parametersFrozen', 'gradients', 'optimizerState', 'savedActivations', 'autocastWeightCopies', 'temporaries'];

/** Table 1 as Markdown: memory changes, FLOPs changes, and the verdicts. */
export function techniqueEffectsMarkdown(effects: readonly TechniqueEffect[]): string {
  const lines: string[] = [];
  lines.push(`| technique | ${TABLE_1_CATEGORIES.map((c) => CATEGORY_LABELS[c]).join(' | ')} | peak |`);
  lines.push(`|---|${TABLE_1_CATEGORIES.map(() => '---').join('|')}|---|`);
  for (const e of effects) lines.push(`| ${e.technique} | ${TABLE_1_CATEGORIES.map((c) => describeChange(e.categories[c])).join(' | ')} | ${describeChange(e.peak)} |`);
  lines.push('');
  lines.push(`| technique | ${PHASES.join(' | ')} | total | time per micro-batch |`);
  lines.push(`|---|${PHASES.map(() => '---').join('|')}|---|---|`);
  for (const e of effects) {
    const t = e.msPerMicroBatch;
    lines.push(`| ${e.technique} | ${PHASES.map((p) => formatFlopsChange(e.flops[p])).join(' | ')} | ${formatFlopsChange(e.flops.total)} | ${t.before.toFixed(0)} → ${t.after.toFixed(0)} ms (x${(t.after / t.before).toFixed(2)}) |`);
  }
  lines.push('');
  lines.push('| technique | where the claimed table was right and wrong |');
  lines.push('|---|---|');
  for (const e of effects) lines.push(`| ${e.technique} | ${e.verdict} |`);
  return lines.join('\n');
}

