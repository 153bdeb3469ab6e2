// Tables 1 and 2 and the matrix writers, on hand-made results: every arrow
// and verdict comes from the numbers (change a number, the arrow and the
// words change), the Markdown and JSON writers carry every combination, and
// the seed's figures and their explanations follow from SEMANTICS.md's
// table and from hand arithmetic on bytes per parameter.

import { describe, expect, it } from 'vitest';
import { MEMORY_CATEGORIES, type CategoryBytes } from '../../src/tensor/memory-ledger.js';
import { combinationName, PLAIN, type Combination } from '../../src/study/matrix-combinations.js';
import type { MatrixResult } from '../../src/study/matrix.js';
import { matrixJson, matrixMarkdown, parseMatrixJson } from '../../src/study/matrix-report.js';
import { DEFAULT_MATRIX_SETTINGS, type CombinationResult } from '../../src/study/matrix-runner.js';
import { arrow, describeChange, techniqueEffects, techniqueEffectsMarkdown } from '../../src/study/tables-technique-effects.js';
import { buildTable2, explainSeedCell, table2Combinations, table2Markdown, updateFloorBytes } from '../../src/study/tables-seed-layout.js';
import { findSeedCell, SEED_CELLS, seedPrintedValue } from '../../src/study/seed-study.js';
import type { TrainingMemoryPrediction } from '../../src/study/memory-model.js';

const MIB = 1024 * 1024;
const bytes = (b: Partial<CategoryBytes>): CategoryBytes => Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, b[c] ?? 0])) as CategoryBytes;
const total = (b: CategoryBytes) => MEMORY_CATEGORIES.reduce((s, c) => s + b[c], 0);

/** A hand-made result: `own` per-category maxima, the peak breakdown `atPeak`. */
function result(c: Combination, own: Partial<CategoryBytes>, atPeak: Partial<CategoryBytes>, flops: { forward: number; backward: number; recomputation?: number; optimizer: number }, ms = 100): CombinationResult {
  const peak = { totalBytes: total(bytes(atPeak)), byCategory: bytes(atPeak) };
  const f = { forward: flops.forward, backward: flops.backward, recomputation: flops.recomputation ?? 0, optimizer: flops.optimizer };
  return {
    name: combinationName(c), combination: c, parameters: { total: 1000, trainable: 1000, frozenMatricesInF16: 0 },
    microBatchesPerStep: c.accumulation ? 2 : 1, peak, maxByCategory: bytes(own), firstStepPeak: peak, steadyStatePeak: peak,
    msPerStep: ms, firstStepMs: ms, flopsPerStep: { ...f, total: f.forward + f.backward + f.recomputation + f.optimizer },
    finalLoss: 2.5, skippedSteps: 0, steps: [], peakWhere: 'forward of layers.0 (op add)',
  };
}

// Plain: 4 MiB weights, gradients, 8 MiB AdamW state, 6 MiB saved activations.
const PLAIN_OWN = { parametersTrainable: 4 * MIB, gradients: 4 * MIB, optimizerState: 8 * MIB, savedActivations: 6 * MIB, temporaries: MIB };
const PLAIN_AT_PEAK = { parametersTrainable: 4 * MIB, optimizerState: 8 * MIB, savedActivations: 6 * MIB, temporaries: MIB };
const plain = result(PLAIN, PLAIN_OWN, PLAIN_AT_PEAK, { forward: 1e9, backward: 2e9, optimizer: 1e7 });
const lora = result({ ...PLAIN, lora: true },
  { parametersTrainable: 0.1 * MIB, parametersFrozen: 4 * MIB, gradients: 0.1 * MIB, optimizerState: 0.2 * MIB, savedActivations: 5 * MIB, temporaries: MIB },
  { parametersTrainable: 0.1 * MIB, parametersFrozen: 4 * MIB, optimizerState: 0.2 * MIB, savedActivations: 5 * MIB, temporaries: MIB },
  { forward: 1.01e9, backward: 1.1e9, optimizer: 2e5 }, 60);
const ck = result({ ...PLAIN, checkpointing: true }, { ...PLAIN_OWN, savedActivations: 2 * MIB }, { ...PLAIN_AT_PEAK, savedActivations: 2 * MIB },
  { forward: 1e9, backward: 2e9, recomputation: 0.9e9, optimizer: 1e7 }, 130);
// GA: the same categories, but gradients live at the peak (the next micro-batch's forward).
const ga = result({ ...PLAIN, accumulation: true }, PLAIN_OWN, { ...PLAIN_AT_PEAK, gradients: 4 * MIB }, { forward: 2e9, backward: 4e9, optimizer: 1e7 }, 200);

describe('arrow', () => {
  it('points down for less, up for more, = within the tolerance', () => {
    expect(arrow(10, 5)).toBe('↓');
    expect(arrow(10, 11)).toBe('↑');
    expect(arrow(10, 10)).toBe('=');
    expect(arrow(10, 10.5, 1)).toBe('=');
    expect(() => arrow(NaN, 1)).toThrow(/finite/);
  });
});

describe('Table 1: each technique alone against plain', () => {
  const effects = techniqueEffects([plain, lora, ck, ga]);
  const byName = (n: string) => effects.find((e) => e.combination === n)!;

  it('derives arrows and byte changes per category from the numbers', () => {
    const l = byName('LoRA');
    expect(l.categories.optimizerState.arrow).toBe('↓');
    expect(l.categories.optimizerState.delta).toBe(0.2 * MIB - 8 * MIB);
    expect(l.categories.parametersFrozen.arrow).toBe('↑');
    expect(l.categories.autocastWeightCopies.arrow).toBe('=');
    expect(describeChange(l.categories.gradients)).toBe('↓ −3.90 MiB (−98%)');
    expect(byName('CK').flops.recomputation.arrow).toBe('↑');
    // GA: FLOPs per micro-batch: forward unchanged, the optimizer's halved (one update per two micro-batches).
    expect(byName('GA').flops.forward.arrow).toBe('=');
    expect(byName('GA').flops.optimizer.delta).toBe(-0.5e7);
  });

  it("says where the claims are right and wrong (LoRA: parameters not lowered, gradients and optimizer state are)", () => {
    const v = byName('LoRA').verdict;
    expect(v).toMatch(/^The seed's table says it lowers parameter memory\. Wrong here: parameter memory ↑ \+102\.40 KiB/);
    expect(v).toMatch(/also lower: gradient memory ↓ .*optimizer-state memory ↓/);
    expect(byName('CK').verdict).toMatch(/Right: saved activations ↓ −4\.00 MiB \(−67%\)/);
    // GA: no category's own maximum moves, but the peak does, and the verdict says which category moved it.
    expect(byName('GA').verdict).toMatch(/Wrong here: saved activations = unchanged/);
    expect(byName('GA').verdict).toMatch(/Peak ↑ \+4\.00 MiB .*at the peak: gradients ↑ \+4\.00 MiB/);
  });

  it('changes the arrow and the words when a number changes', () => {
    // LoRA with a hypothetical smaller parameter footprint than plain: the seed's claim becomes right.
    const smaller = { ...lora, maxByCategory: { ...lora.maxByCategory, parametersFrozen: 3 * MIB } };
    const e = techniqueEffects([plain, smaller]).find((x) => x.combination === 'LoRA')!;
    expect(e.categories.parametersFrozen.arrow).toBe('↑');
    expect(e.verdict).toMatch(/Right: parameter memory ↓/);
    // Checkpointing that saved nothing: '=' and "Wrong here".
    const useless = { ...ck, maxByCategory: { ...ck.maxByCategory, savedActivations: 6 * MIB } };
    const u = techniqueEffects([plain, useless]).find((x) => x.combination === 'CK')!;
    expect(u.categories.savedActivations.arrow).toBe('=');
    expect(u.verdict).toMatch(/Wrong here: saved activations = unchanged/);
  });

  it('renders Markdown with one row per technique in each table, and needs the plain row', () => {
    const md = techniqueEffectsMarkdown(effects);
    expect(md.split('\n').filter((l) => l.startsWith('| LoRA |'))).toHaveLength(3);
    expect(md).toContain('↓ −7.80 MiB (−98%)');
    expect(() => techniqueEffects([lora])).toThrow(/no 'plain' combination/);
  });
});

const MATRIX: MatrixResult = {
  format: 'gradlab-technique-matrix/1', command: 'gradlab matrix --steps 2', date: '2026-01-01T00:00:00.000Z',
  machine: { cpuModel: 'Test CPU', cores: 2, memoryBytes: 8 * 2 ** 30, platform: 'linux x64', node: 'v20.0.0', loadAverage: 1, backend: 'cpu', backendDetails: [] },
  settings: DEFAULT_MATRIX_SETTINGS, data: 'synthetic', model: { dim: 64, layers: 2, vocabSize: 512 },
  combinations: [plain, lora, ck, ga],
};

describe('matrix writers', () => {
  it('round-trips the JSON and rejects other files', () => {
    expect(parseMatrixJson(matrixJson(MATRIX))).toEqual(MATRIX);
    expect(() => parseMatrixJson('{"format":"x","combinations":[]}', 'a.json')).toThrow(/a.json: format is 'x'/);
    expect(() => parseMatrixJson('nope', 'b.json')).toThrow(/b.json: not JSON/);
  });

  it('writes the command, the machine and one row per combination in each Markdown table', () => {
    const md = matrixMarkdown(MATRIX);
    expect(md).toContain('Command: `gradlab matrix --steps 2`');
    expect(md).toContain('Test CPU, 2 cores');
    for (const r of MATRIX.combinations) expect(md.split('\n').filter((l) => l.startsWith(`| ${r.name} |`))).toHaveLength(2);
    // plain's peak: 4 + 8 + 6 + 1 MiB.
    expect(md).toMatch(/\| plain \| 19\.00 \|/);
  });
});

describe("the seed's figures", () => {
  it('are SEMANTICS.md\'s table, in bytes, and print as kilobytes the way the seed did', () => {
    expect(SEED_CELLS).toHaveLength(12);
    expect(findSeedCell(32, false, true, true)?.peakBytes).toBe(43.4e9);
    expect(findSeedCell(8, true, true, false)?.runtimeSeconds).toBe(56.5);
    expect(findSeedCell(32, true, false, false)?.peakBytes).toBeNull();
    expect(seedPrintedValue(31.3e9)).toBeCloseTo(3.13e7, 6);
  });
});

/** A hand-made prediction: 1 G parameters, everything trainable unless `lora`. */
function prediction(peakTotal: number, opts: { trainable?: number; copies?: number; acts?: number } = {}): TrainingMemoryPrediction {
  const params = 1e9;
  const trainable = opts.trainable ?? params;
  const start = bytes({ parametersTrainable: 4 * trainable, parametersFrozen: 4 * (params - trainable) });
  const step = { peakTotal, peak: bytes({ autocastWeightCopies: opts.copies ?? 0 }), maxByCategory: bytes({ autocastWeightCopies: opts.copies ?? 0, savedActivations: opts.acts ?? 0 }), location: null, liveAfter: start };
  return {
    spec: {} as TrainingMemoryPrediction['spec'], techniques: '', parameters: { total: params, trainable, frozen: params - trainable }, start,
    firstStep: step, steadyState: step, peakTotal, peak: step.peak, location: { op: 'add', module: 'layers.0', phase: 'forward', kernel: null, description: 'forward of layers.0 (op add)' },
    peakStep: 'steady', maxByCategory: step.maxByCategory, assumptions: [],
  };
}

describe('Table 2 explanations', () => {
  const cap = [40 * 2 ** 30, 80 * 2 ** 30];
  it('agrees within 5% and says which cards the cell fits', () => {
    const cell = { layers: 32 as const, accumulation: false, mixedPrecision: false, lora: true, peakBytes: 31.3e9, runtimeSeconds: 1 };
    const text = explainSeedCell(cell, prediction(31.6e9, { trainable: 1e7 }), () => prediction(31.6e9), cap);
    expect(text).toMatch(/Agrees \(seed −0\.9%\)/);
    expect(text).toMatch(/fits on 40 GB and 80 GB/);
  });

  it('flags a reported peak below the 16 bytes/parameter floor of an updating step', () => {
    const p = prediction(17e9, { copies: 2e9, acts: 1e9 });
    expect(updateFloorBytes(p)).toBe(16e9); // 4 weights + 4 gradients + 8 AdamW per parameter, 1 G parameters
    const cell = { layers: 8 as const, accumulation: false, mixedPrecision: true, lora: false, peakBytes: 11e9, runtimeSeconds: 1 };
    const text = explainSeedCell(cell, p, () => prediction(16.5e9), cap);
    expect(text).toMatch(/below the 16\.00 GB/);
    // No AdamW state: 4 + 4 weights and gradients + 2 copies + 1 activations = 11 GB: exactly the seed's figure.
    expect(text).toMatch(/closest to no AdamW state \(\+0\.0%/);
  });

  it('recognizes one parameter-sized buffer more (20 bytes per parameter)', () => {
    const cell = { layers: 8 as const, accumulation: true, mixedPrecision: false, lora: false, peakBytes: 20e9, runtimeSeconds: 1 };
    const text = explainSeedCell(cell, prediction(16.5e9), () => prediction(16.2e9), cap);
    expect(text).toMatch(/20\.0 bytes per parameter/);
    expect(text).toMatch(/why GA leaves the seed's figure unchanged/);
  });

  it('says a reported out-of-memory cell agrees only when the prediction exceeds the cards', () => {
    const cell = { layers: 32 as const, accumulation: false, mixedPrecision: false, lora: false, peakBytes: null, runtimeSeconds: null };
    expect(explainSeedCell(cell, prediction(100e9), () => prediction(100e9), cap)).toMatch(/must run out of memory on every card checked .*: agrees/);
    expect(explainSeedCell(cell, prediction(50e9), () => prediction(50e9), cap)).toMatch(/agrees only for the 40 GB card/);
    expect(explainSeedCell(cell, prediction(10e9), () => prediction(10e9), cap)).toMatch(/disagrees: the model says it fits/);
  });

  it('lays out 20 rows (16 + the f16-base MP+LoRA variants), seed figures only in the cells the seed ran', () => {
    expect(table2Combinations()).toHaveLength(20);
    const t = buildTable2({ measured: [MATRIX], predict: (l) => prediction(l * 1e9), layers: [2, 8, 32] });
    expect(t.rows).toHaveLength(20);
    const plainRow = t.rows.find((r) => r.name === 'plain')!;
    expect(plainRow.cells.find((c) => c.layers === 2)!.measured).toBe(plain);
    expect(plainRow.cells.find((c) => c.layers === 8)!.seed?.peakBytes).toBe(37.7e9);
    expect(plainRow.cells.find((c) => c.layers === 32)!.exceeds[40 * 2 ** 30]).toBe(false); // 32 GB
    expect(t.rows.find((r) => r.name === 'CK')!.cells.every((c) => c.seed === null)).toBe(true);
    const md = table2Markdown(t);
    expect(md).toContain('| off | off | off | off | 19.00 | — | — | 2.00 GB | 8.00 GB | 32.00 GB | 37.7 GB, 214.7 s | OOM |');
    expect(t.seedExplanations).toHaveLength(12);
  });
});
