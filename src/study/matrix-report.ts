// The technique matrix as files: the JSON result (everything measured, per
// step) and a Markdown page with the settings, the machine and one row per
// combination; plus the rows the charts draw.

import { MEMORY_CATEGORIES, formatBytes } from '../tensor/memory-ledger.js';
import { PHASES } from '../tensor/work-counter.js';
import { CATEGORY_LABELS, type CombinationMemoryRow, type CombinationRuntimeRow } from './charts.js';
import type { MatrixResult } from './matrix.js';
import { techniqueEffects, techniqueEffectsMarkdown } from './tables-technique-effects.js';

export function matrixJson(result: MatrixResult): string {
  return `${JSON.stringify(result, null, 1)}\n`;
}

/** Reads a matrix JSON file's text back, checking its format tag. */
export function parseMatrixJson(text: string, where = 'matrix JSON'): MatrixResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: not JSON (${(err as Error).message})`);
  }
  const r = parsed as Partial<MatrixResult>;
  if (r?.format !== 'gradlab-technique-matrix/1') throw new Error(`${where}: format is '${String(r?.format)}', expected 'gradlab-technique-matrix/1'`);
  if (!Array.isArray(r.combinations)) throw new Error(`${where}: 'combinations' is not an array`);
  return r as MatrixResult;
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(2);
const gflop = (flops: number): string => (flops / 1e9).toFixed(3);

/** The settings line: "tiny (dim 64, 2 layers, vocab 32000), batch 4 x seq 128, 3 steps, GA x2, CK two-segments, LoRA r16 ...". */
export function describeMatrixSettings(r: MatrixResult): string {
  const s = r.settings;
  return `${s.preset} (dim ${r.model.dim}, ${r.model.layers} layer${r.model.layers === 1 ? '' : 's'}, vocab ${r.model.vocabSize}), ` +
    `batch ${s.batchSize} x seq ${s.seqLen} (${r.data} data), ${s.steps} optimizer steps per combination; ` +
    `GA: ${s.accumulate} micro-batches of the same size per step (the seed's way); CK: ${s.checkpointingMode}; ` +
    `MP: autocast f16 + GradScaler; LoRA: r ${s.lora.r}, alpha ${s.lora.alpha}, dropout ${s.lora.dropout} on ${s.lora.targets.join(', ')}; AdamW lr ${s.lr}; seed ${s.seed}`;
}

export function describeMachine(r: MatrixResult): string {
  const m = r.machine;
  return `${m.cpuModel}, ${m.cores} cores, ${formatBytes(m.memoryBytes)}, ${m.platform}, Node ${m.node}, load ${m.loadAverage}; backend ${m.backend}` +
    (m.backendDetails.length ? ` (${m.backendDetails.join('; ')})` : '');
}

/** The matrix as Markdown: header, then one row per combination. */
export function matrixMarkdown(r: MatrixResult, options: { title?: string } = {}): string {
  const lines: string[] = [];
  lines.push(`# ${options.title ?? 'Technique matrix'}`, '');
  lines.push(`Command: \`${r.command}\``, '');
  lines.push(`Date: ${r.date}`, '');
  lines.push(`Machine: ${describeMachine(r)}`, '');
  lines.push(`Settings: ${describeMatrixSettings(r)}`, '');
  lines.push('Memory is the ledger\'s: logical tensor bytes, exact and the same on every backend. ' +
    '"peak" is the highest total over all steps, with its breakdown; "first step" is the first optimizer step\'s own peak ' +
    '(AdamW creates its state inside it), "steady" the highest of the later steps. Time is the median of the steps after the first ' +
    '(one shared machine: compare ratios within this run, not absolute times). FLOPs are one optimizer step\'s, by phase. ' +
    'Temporaries include the rotary cos/sin tables the model keeps for the whole run.', '');
  const cats = MEMORY_CATEGORIES;
  lines.push(`| combination | peak MiB | first step MiB | steady MiB | ${cats.map((c) => `${CATEGORY_LABELS[c]} at peak`).join(' | ')} | ms/step | fwd GFLOP | bwd GFLOP | recompute GFLOP | optimizer GFLOP | loss | skipped steps | peak happens in |`);
  lines.push(`|---|${Array(3 + cats.length + 8).fill('---').join('|')}|`);
  for (const c of r.combinations) {
    lines.push(`| ${c.name} | ${mib(c.peak.totalBytes)} | ${mib(c.firstStepPeak.totalBytes)} | ${mib(c.steadyStatePeak.totalBytes)} | ` +
      `${cats.map((k) => mib(c.peak.byCategory[k])).join(' | ')} | ${c.msPerStep.toFixed(0)} | ` +
      `${PHASES.map((p) => gflop(c.flopsPerStep[p])).join(' | ')} | ${c.finalLoss.toFixed(4)} | ${c.skippedSteps} | ${c.peakWhere ?? ''} |`);
  }
  lines.push('');
  lines.push('Each category\'s own maximum over the run (MiB; reached at different moments):', '');
  lines.push(`| combination | ${cats.map((c) => CATEGORY_LABELS[c]).join(' | ')} |`);
  lines.push(`|---|${cats.map(() => '---').join('|')}|`);
  for (const c of r.combinations) lines.push(`| ${c.name} | ${cats.map((k) => mib(c.maxByCategory[k])).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

/** The matrix page as `gradlab matrix` writes it: the matrix, then Table 1 when the single-technique rows are there. */
export function matrixPageMarkdown(r: MatrixResult, tag: string): string {
  let md = matrixMarkdown(r, { title: `Technique matrix: ${tag}` });
  const effects = techniqueEffects(r.combinations);
  if (effects.length > 0) {
    md += `\n## Table 1: each technique alone against plain\n\nCategory columns: each category's own maximum over the run; FLOPs per micro-batch.\n\n${techniqueEffectsMarkdown(effects)}\n`;
  }
  return md;
}

export function memoryChartRows(r: MatrixResult): CombinationMemoryRow[] {
  return r.combinations.map((c) => ({ combination: c.name, bytesByCategory: c.peak.byCategory }));
}

export function runtimeChartRows(r: MatrixResult): CombinationRuntimeRow[] {
  return r.combinations.map((c) => ({ combination: c.name, msPerStep: c.msPerStep }));
}
