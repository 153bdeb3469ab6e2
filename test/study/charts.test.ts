// The study's charts render to well-formed SVG headless, with the titles,
// axis titles (units), categories and one mark per datum that the input
// calls for, the same bytes for the same input, and clear errors for bad input.

import { describe, expect, it } from 'vitest';
import { CATEGORY_COLORS, CATEGORY_LABELS, predictedVsMeasuredChart, runtimeChart, stackedMemoryChart, timelineChart } from '../../src/study/charts.js';
import type { MemoryEvent } from '../../src/tensor/memory-timeline.js';
import { MEMORY_CATEGORIES } from '../../src/tensor/memory-ledger.js';

const MIB = 1024 * 1024;

/** Well-formedness: every element opened is closed in order (enough to catch a broken document). */
function expectWellFormedSvg(svg: string): void {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (closing) expect(stack.pop(), `closing </${name}>`).toBe(name);
    else stack.push(name);
  }
  expect(stack).toEqual([]);
}

/** How many items (paths, lines) the data-mark groups of this kind hold, e.g. 'rect' for bars. */
function markItems(svg: string, kind: string): number {
  let n = 0;
  for (const m of svg.matchAll(new RegExp(`<g class="mark-${kind} role-mark[^"]*"[^>]*>(.*?)</g>`, 'gs'))) n += (m[1].match(/<(path|line)\b/g) ?? []).length; // rules draw as <line>
  return n;
}

/** Text content of the SVG's <text> elements. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

describe('stackedMemoryChart', () => {
  const rows = [
    { combination: 'plain', bytesByCategory: { parametersTrainable: 4 * MIB, gradients: 4 * MIB } },
    { combination: 'checkpointing', bytesByCategory: { parametersTrainable: 4 * MIB, savedActivations: 2 * MIB, temporaries: MIB / 2 } },
    { combination: 'lora', bytesByCategory: { parametersFrozen: 4 * MIB } },
  ];

  it('draws one bar segment per non-zero category, the totals, titles and every category in the legend', async () => {
    const svg = await stackedMemoryChart(rows);
    expectWellFormedSvg(svg);
    expect(markItems(svg, 'rect')).toBe(2 + 3 + 1);
    const t = texts(svg);
    expect(t).toContain('Peak memory per technique combination, by category');
    expect(t).toContain('Peak memory (MiB)');
    expect(t).toContain('Technique combination');
    for (const c of MEMORY_CATEGORIES) expect(t).toContain(CATEGORY_LABELS[c]);
    // Totals above the bars: 8, 6.5 and 4 MiB.
    expect(t).toEqual(expect.arrayContaining(['8.0', '6.5', '4.0']));
    for (const name of ['plain', 'checkpointing', 'lora']) expect(t).toContain(name);
    // The category colours are the fixed ones.
    expect(svg).toContain(`fill="${CATEGORY_COLORS.savedActivations}"`);
  });

  it('is deterministic and rejects bad input', async () => {
    expect(await stackedMemoryChart(rows)).toBe(await stackedMemoryChart(rows));
    expect(() => stackedMemoryChart([])).toThrow(/stackedMemoryChart: no data/);
    expect(() => stackedMemoryChart([{ combination: 'x', bytesByCategory: { gradients: -1 } }])).toThrow(/x\.gradients must be a finite number of bytes >= 0, got -1/);
  });
});

describe('runtimeChart', () => {
  const rows = [
    { combination: 'plain', msPerStep: 120 },
    { combination: 'GA x8', msPerStep: 125 },
    { combination: 'checkpointing', msPerStep: 160 },
    { combination: 'lora', msPerStep: 80.5 },
  ];

  it('draws one bar per combination with a labelled ms axis', async () => {
    const svg = await runtimeChart(rows, { title: 'Runtime, tiny preset' });
    expectWellFormedSvg(svg);
    expect(markItems(svg, 'rect')).toBe(4);
    const t = texts(svg);
    expect(t).toContain('Runtime, tiny preset');
    expect(t).toContain('Time per optimizer step (ms)');
    expect(t).toEqual(expect.arrayContaining(['120', '125', '160', '81']));
    expect(await runtimeChart(rows)).toBe(await runtimeChart(rows));
    expect(() => runtimeChart([{ combination: 'x', msPerStep: Number.NaN }])).toThrow(/x\.msPerStep must be a finite number/);
  });
});

describe('predictedVsMeasuredChart', () => {
  const points = [
    { label: 'plain', predictedBytes: 10 * MIB, measuredBytes: 10 * MIB, category: 'savedActivations' as const },
    { label: 'ckpt', predictedBytes: 4 * MIB, measuredBytes: 4 * MIB, category: 'savedActivations' as const },
    { label: 'plain', predictedBytes: 8 * MIB, measuredBytes: 8 * MIB, category: 'gradients' as const },
  ];

  it('draws one point per prediction and the agreement line, on MiB axes', async () => {
    const svg = await predictedVsMeasuredChart(points);
    expectWellFormedSvg(svg);
    expect(markItems(svg, 'symbol')).toBe(3);
    expect(markItems(svg, 'line')).toBe(1);
    const t = texts(svg);
    expect(t).toContain('Predicted by the memory model (MiB)');
    expect(t).toContain('Measured by the ledger (MiB)');
    expect(t).toContain('Memory model: predicted vs measured');
    expect(t.filter((x) => x === 'plain')).toHaveLength(2); // each point is labelled
    expect(t).toContain('ckpt');
    expect(await predictedVsMeasuredChart(points)).toBe(await predictedVsMeasuredChart(points));
    expect(() => predictedVsMeasuredChart([{ label: 'a', predictedBytes: 1, measuredBytes: Number.POSITIVE_INFINITY }])).toThrow(/a\.measuredBytes/);
  });
});

describe('timelineChart', () => {
  // A hand-written step: 4 MiB of parameters, a 2 MiB activation saved and released, a 4 MiB gradient.
  const ev = (seq: number, kind: MemoryEvent['kind'], category: MemoryEvent['category'], bytes: number, fromCategory?: MemoryEvent['category']): MemoryEvent => ({
    seq, kind, category, ...(fromCategory ? { fromCategory } : {}), bytes, storageId: seq, op: 'matmul', kernel: null,
    module: 'layers.0.attention.wq', phase: seq < 3 ? 'forward' : 'backward', timeMs: seq,
  });
  const events = [
    ev(0, 'alloc', 'temporaries', 4 * MIB),
    ev(1, 'move', 'parametersTrainable', 4 * MIB, 'temporaries'),
    ev(2, 'alloc', 'savedActivations', 2 * MIB),
    ev(3, 'alloc', 'gradients', 4 * MIB), // 10 MiB: the peak
    ev(4, 'free', 'savedActivations', 2 * MIB),
  ];

  it('stacks one area per non-empty category and marks the peak where the total is highest', async () => {
    const svg = await timelineChart(events);
    expectWellFormedSvg(svg);
    // One area per category that holds bytes at some point: parameters, saved activations, gradients, temporaries.
    expect(markItems(svg, 'area')).toBe(4);
    expect(markItems(svg, 'rule')).toBe(1);
    const t = texts(svg);
    expect(t).toContain('Memory timeline of one training step, by category');
    expect(t).toContain('Live memory (MiB)');
    expect(t).toContain('peak 10.00 MiB');
    expect(t).toContain('Peak 10.00 MiB at event 3: backward of layers.0.attention.wq (op matmul)');
    for (const c of MEMORY_CATEGORIES) expect(t).toContain(CATEGORY_LABELS[c]);
    expect(await timelineChart(events)).toBe(svg);
    expect(() => timelineChart([])).toThrow(/timelineChart: no data/);
  });
});
