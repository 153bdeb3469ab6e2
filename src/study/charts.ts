// The study's charts as SVG strings, drawn with Vega-Lite (compiled to a Vega
// spec) and rendered by Vega's headless View.toSVG(): no browser, no canvas,
// no native module (text widths are estimated, so output is deterministic).
// Inputs are plain data; every chart uses bytes in MiB and the same colour
// per memory category.

import type { TopLevelSpec } from 'vega-lite';
import { MEMORY_CATEGORIES, type CategoryBytes, type MemoryCategory } from '../tensor/memory-ledger.js';
import type { MemoryEvent, MemoryTimeline } from '../tensor/memory-timeline.js';
import { liveBytesSeries, peakLocation } from './timeline-replay.js';

/** How each category is named in legends. */
export const CATEGORY_LABELS: Record<MemoryCategory, string> = {
  parametersTrainable: 'parameters (trainable)',
  parametersFrozen: 'parameters (frozen)',
  gradients: 'gradients',
  optimizerState: 'optimizer state',
  savedActivations: 'saved activations',
  autocastWeightCopies: 'autocast weight copies',
  temporaries: 'temporaries',
};

/** One colour per category in every chart (PyTorch's memory-timeline hues where it has the category). */
export const CATEGORY_COLORS: Record<MemoryCategory, string> = {
  parametersTrainable: '#006400',
  parametersFrozen: '#8fbc8f',
  gradients: '#0000cd',
  optimizerState: '#daa520',
  savedActivations: '#d62728',
  autocastWeightCopies: '#17becf',
  temporaries: '#9370db',
};

const MIB = 1024 * 1024;
const toMiB = (bytes: number): number => bytes / MIB;

/** Peak bytes of one technique combination, broken down by category at the peak. */
export interface CombinationMemoryRow {
  readonly combination: string;
  readonly bytesByCategory: Partial<CategoryBytes>;
}

export interface CombinationRuntimeRow {
  readonly combination: string;
  /** Wall-clock time per optimizer step. */
  readonly msPerStep: number;
}

export interface PredictedVsMeasuredPoint {
  /** What the point is (a combination, a category of one). */
  readonly label: string;
  readonly predictedBytes: number;
  readonly measuredBytes: number;
  /** Colours the point by memory category when given. */
  readonly category?: MemoryCategory;
}

export interface ChartOptions {
  title?: string;
  /** Plot width in pixels (the legend and axes come on top). */
  width?: number;
  height?: number;
}

const categoryScale = {
  domain: MEMORY_CATEGORIES.map((c) => CATEGORY_LABELS[c]),
  range: MEMORY_CATEGORIES.map((c) => CATEGORY_COLORS[c]),
};

const baseConfig = {
  font: 'Helvetica, Arial, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelLimit: 0, labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, subtitleFontSize: 11 },
};

/** Renders a Vega-Lite spec to an SVG string, headless. */
export async function renderVegaLite(spec: TopLevelSpec): Promise<string> {
  // Loaded on first use: Vega takes most of a second to import, which a program that draws nothing shouldn't pay.
  const [{ compile }, { parse, View }] = await Promise.all([import('vega-lite'), import('vega')]);
  const vegaSpec = compile(spec).spec;
  const view = new View(parse(vegaSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function requireRows(what: string, n: number): void {
  if (n === 0) throw new Error(`${what}: no data to draw (got an empty list)`);
}

function checkBytes(what: string, where: string, bytes: number): void {
  if (!Number.isFinite(bytes) || bytes < 0) throw new Error(`${what}: ${where} must be a finite number of bytes >= 0, got ${bytes}`);
}

/** Peak memory per combination as stacked bars by category, with the total above each bar. */
export function stackedMemoryChart(rows: readonly CombinationMemoryRow[], options: ChartOptions = {}): Promise<string> {
  requireRows('stackedMemoryChart', rows.length);
  const values: { combination: string; category: string; order: number; MiB: number }[] = [];
  const totals: { combination: string; MiB: number; label: string }[] = [];
  for (const row of rows) {
    let total = 0;
    for (const [i, c] of MEMORY_CATEGORIES.entries()) {
      const bytes = row.bytesByCategory[c] ?? 0;
      checkBytes('stackedMemoryChart', `${row.combination}.${c}`, bytes);
      if (bytes > 0) values.push({ combination: row.combination, category: CATEGORY_LABELS[c], order: i, MiB: toMiB(bytes) });
      total += bytes;
    }
    totals.push({ combination: row.combination, MiB: toMiB(total), label: `${toMiB(total).toFixed(1)}` });
  }
  const x = { field: 'combination', type: 'nominal' as const, sort: rows.map((r) => r.combination), title: 'Technique combination', axis: { labelAngle: -35 } };
  return renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title ?? 'Peak memory per technique combination, by category',
    width: options.width ?? Math.max(320, 48 * rows.length),
    height: options.height ?? 300,
    config: baseConfig,
    layer: [
      {
        data: { values },
        mark: { type: 'bar' },
        encoding: {
          x,
          y: { field: 'MiB', type: 'quantitative', stack: 'zero', title: 'Peak memory (MiB)' },
          color: { field: 'category', type: 'nominal', scale: categoryScale, title: 'Category' },
          order: { field: 'order', type: 'quantitative' },
        },
      },
      {
        data: { values: totals },
        mark: { type: 'text', dy: -6, fontSize: 10 },
        encoding: { x, y: { field: 'MiB', type: 'quantitative' }, text: { field: 'label', type: 'nominal' } },
      },
    ],
  });
}

/** Time per optimizer step for each combination. */
export function runtimeChart(rows: readonly CombinationRuntimeRow[], options: ChartOptions = {}): Promise<string> {
  requireRows('runtimeChart', rows.length);
  for (const r of rows) {
    if (!Number.isFinite(r.msPerStep) || r.msPerStep < 0) throw new Error(`runtimeChart: ${r.combination}.msPerStep must be a finite number >= 0, got ${r.msPerStep}`);
  }
  const x = { field: 'combination', type: 'nominal' as const, sort: rows.map((r) => r.combination), title: 'Technique combination', axis: { labelAngle: -35 } };
  return renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title ?? 'Time per optimizer step per technique combination',
    width: options.width ?? Math.max(320, 48 * rows.length),
    height: options.height ?? 300,
    config: baseConfig,
    data: { values: rows.map((r) => ({ combination: r.combination, ms: r.msPerStep, label: r.msPerStep.toFixed(r.msPerStep < 10 ? 2 : 0) })) },
    layer: [
      { mark: { type: 'bar', color: '#4c78a8' }, encoding: { x, y: { field: 'ms', type: 'quantitative', title: 'Time per optimizer step (ms)' } } },
      { mark: { type: 'text', dy: -6, fontSize: 10 }, encoding: { x, y: { field: 'ms', type: 'quantitative' }, text: { field: 'label', type: 'nominal' } } },
    ],
  });
}

/** Predicted against measured bytes, with the line where they agree. */
export function predictedVsMeasuredChart(points: readonly PredictedVsMeasuredPoint[], options: ChartOptions = {}): Promise<string> {
  requireRows('predictedVsMeasuredChart', points.length);
  for (const p of points) {
    checkBytes('predictedVsMeasuredChart', `${p.label}.predictedBytes`, p.predictedBytes);
    checkBytes('predictedVsMeasuredChart', `${p.label}.measuredBytes`, p.measuredBytes);
  }
  const maxMiB = Math.max(...points.map((p) => Math.max(toMiB(p.predictedBytes), toMiB(p.measuredBytes))));
  const byCategory = points.every((p) => p.category !== undefined);
  const pointEncoding = {
    x: { field: 'predicted', type: 'quantitative' as const, title: 'Predicted by the memory model (MiB)', scale: { domain: [0, maxMiB] } },
    y: { field: 'measured', type: 'quantitative' as const, title: 'Measured by the ledger (MiB)', scale: { domain: [0, maxMiB] } },
    ...(byCategory ? { color: { field: 'category', type: 'nominal' as const, scale: categoryScale, title: 'Category' } } : {}),
  };
  return renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title ?? 'Memory model: predicted vs measured',
    width: options.width ?? 320,
    height: options.height ?? 320,
    config: baseConfig,
    layer: [
      {
        data: { values: [{ predicted: 0, measured: 0 }, { predicted: maxMiB, measured: maxMiB }] },
        mark: { type: 'line', color: '#999999', strokeDash: [4, 4] },
        encoding: { x: { field: 'predicted', type: 'quantitative' }, y: { field: 'measured', type: 'quantitative' } },
      },
      {
        data: { values: points.map((p) => ({ label: p.label, predicted: toMiB(p.predictedBytes), measured: toMiB(p.measuredBytes), ...(p.category ? { category: CATEGORY_LABELS[p.category] } : {}) })) },
        mark: { type: 'point', filled: true, size: 60, ...(byCategory ? {} : { color: '#4c78a8' }) },
        encoding: pointEncoding,
      },
      {
        data: { values: points.map((p) => ({ label: p.label, predicted: toMiB(p.predictedBytes), measured: toMiB(p.measuredBytes) })) },
        mark: { type: 'text', align: 'left', dx: 7, dy: -7, fontSize: 10 },
        encoding: { x: { field: 'predicted', type: 'quantitative' }, y: { field: 'measured', type: 'quantitative' }, text: { field: 'label', type: 'nominal' } },
      },
    ],
  });
}

export interface TimelineChartOptions extends ChartOptions {
  /** The x axis: event number (default, deterministic) or milliseconds since recording started. */
  x?: 'seq' | 'time';
  /** Mark the peak with a rule and its location (default true). */
  markPeak?: boolean;
}

/**
 * Live bytes by category over one recorded step, as a stacked step-area
 * chart (memory is constant between events), with the peak marked.
 */
export function timelineChart(input: MemoryTimeline | readonly MemoryEvent[], options: TimelineChartOptions = {}): Promise<string> {
  const series = liveBytesSeries(input);
  requireRows('timelineChart', series.length);
  const xField = options.x === 'time' ? 'ms' : 'event';
  const xTitle = options.x === 'time' ? 'Time since recording started (ms)' : 'Memory event (allocation, free or relabel), in order';
  // Categories empty throughout draw nothing (the legend still lists them all); leaving them out keeps the SVG small.
  const drawn = MEMORY_CATEGORIES.filter((c) => series.some((p) => p.live[c] > 0));
  const values: Record<string, number | string>[] = [];
  for (const point of series) {
    for (const c of drawn) {
      values.push({ event: point.seq, ms: point.timeMs, category: CATEGORY_LABELS[c], order: MEMORY_CATEGORIES.indexOf(c), MiB: toMiB(point.live[c]) });
    }
  }
  const area = {
    data: { values },
    mark: { type: 'area' as const, interpolate: 'step-after' as const },
    encoding: {
      x: { field: xField, type: 'quantitative' as const, title: xTitle, scale: { domain: [values[0][xField] as number, values[values.length - 1][xField] as number], nice: false } },
      y: { field: 'MiB', type: 'quantitative' as const, stack: 'zero' as const, title: 'Live memory (MiB)' },
      color: { field: 'category', type: 'nominal' as const, scale: categoryScale, title: 'Category' },
      order: { field: 'order', type: 'quantitative' as const },
    },
  };
  const peak = options.markPeak === false ? null : peakLocation(input);
  // A short label at the rule; where the peak is, in words, goes in the subtitle.
  const peakOnLeft = peak !== null && peak.seq - series[0].seq < (series[series.length - 1].seq - series[0].seq) / 2;
  const peakDatum = peak && { x: options.x === 'time' ? peak.event.timeMs : peak.seq, MiB: toMiB(peak.totalBytes), label: `peak ${toMiB(peak.totalBytes).toFixed(2)} MiB` };
  const subtitle = peak ? `Peak ${toMiB(peak.totalBytes).toFixed(2)} MiB at event ${peak.seq}: ${peak.description}` : undefined;
  const peakLayers = peakDatum
    ? [
        {
          data: { values: [peakDatum] },
          mark: { type: 'rule' as const, color: '#333333', strokeDash: [3, 3] },
          encoding: { x: { field: 'x', type: 'quantitative' as const } },
        },
        {
          data: { values: [peakDatum] },
          mark: { type: 'text' as const, align: peakOnLeft ? ('left' as const) : ('right' as const), dx: peakOnLeft ? 4 : -4, dy: -8, fontSize: 10 },
          encoding: { x: { field: 'x', type: 'quantitative' as const }, y: { field: 'MiB', type: 'quantitative' as const }, text: { field: 'label', type: 'nominal' as const } },
        },
      ]
    : [];
  return renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: options.title ?? 'Memory timeline of one training step, by category', ...(subtitle ? { subtitle } : {}) },
    width: options.width ?? 640,
    height: options.height ?? 300,
    config: baseConfig,
    layer: [area, ...peakLayers],
  });
}
