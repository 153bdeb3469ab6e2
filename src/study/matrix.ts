// The technique matrix: every combination of GA x CK x MP x LoRA (plus the
// f16-base variants of the MP rows) trained on the same fixed-shape batches
// on one backend, with the machine and the settings recorded beside the
// figures so a result file says what produced it.

import { cpus, loadavg, platform, arch, totalmem } from 'node:os';
import type { Backend } from '../backends/backend.js';
import { currentBackend } from '../tensor/runtime.js';
import type { MemoryTimeline } from '../tensor/memory-timeline.js';
import { presetArgs } from '../nn/model-args.js';
import { allCombinations, combinationName, type Combination } from './matrix-combinations.js';
import { embeddedBatches, syntheticBatches, type MatrixDataSource } from './matrix-batches.js';
import { runCombination, type CombinationResult, type MatrixSettings } from './matrix-runner.js';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly platform: string;
  readonly node: string;
  /** 1-minute load average when the run started (the machine may be shared). */
  readonly loadAverage: number;
  readonly backend: string;
  /** The backend's capability lines (the WebGPU adapter, f16 mode, ...). */
  readonly backendDetails: readonly string[];
}

export function machineInfo(backend: Backend = currentBackend()): MachineInfo {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryBytes: totalmem(),
    platform: `${platform()} ${arch()}`,
    node: process.version,
    loadAverage: Number(loadavg()[0].toFixed(2)),
    backend: backend.name,
    backendDetails: [...(backend.capabilities.features ?? [])],
  };
}

export interface MatrixResult {
  readonly format: 'gradlab-technique-matrix/1';
  /** The command line that produced it (or a description of the call). */
  readonly command: string;
  readonly date: string;
  readonly machine: MachineInfo;
  readonly settings: MatrixSettings;
  readonly data: MatrixDataSource;
  readonly model: { readonly dim: number; readonly layers: number; readonly vocabSize: number; readonly hiddenDim?: number };
  readonly combinations: readonly CombinationResult[];
}

export interface MatrixRunOptions {
  readonly settings: MatrixSettings;
  readonly data?: MatrixDataSource;
  /** Which combinations (default: all 24). */
  readonly combinations?: readonly Combination[];
  /** Record a one-step timeline for these (by name); 'all' records every one. Timelines also give each result's peakWhere. */
  readonly timelines?: 'all' | readonly string[];
  readonly command?: string;
}

export interface MatrixHooks {
  onCombination?: (result: CombinationResult, index: number, count: number) => void;
  /** Called with each recorded timeline right after its combination ran. */
  onTimeline?: (name: string, timeline: MemoryTimeline) => void | Promise<void>;
}

/** Runs the matrix on the current backend. */
export async function runMatrix(options: MatrixRunOptions, hooks: MatrixHooks = {}): Promise<MatrixResult> {
  const { settings } = options;
  const args = presetArgs(settings.preset, { ...(settings.layers !== null ? { layers: settings.layers } : {}), ...(settings.vocabSize !== null ? { vocabSize: settings.vocabSize } : {}) });
  const data = options.data ?? (args.vocabSize === 32000 ? 'embedded' : 'synthetic');
  const combinations = options.combinations ?? allCombinations();
  const machine = machineInfo();
  // Enough batches for the largest window count (GA rows, plus the timeline step); shorter runs reuse the start.
  const needed = (settings.steps + 1) * settings.accumulate;
  const batches = data === 'embedded'
    ? await embeddedBatches(needed, settings.batchSize, settings.seqLen, args.vocabSize)
    : syntheticBatches(needed, settings.batchSize, settings.seqLen, args.vocabSize, settings.seed);
  const results: CombinationResult[] = [];
  for (const [i, c] of combinations.entries()) {
    const name = combinationName(c);
    const record = options.timelines === 'all' || (options.timelines ?? []).includes(name);
    const { result, timeline } = await runCombination(settings, c, batches, { recordTimeline: record });
    if (timeline) await hooks.onTimeline?.(name, timeline);
    results.push(result);
    hooks.onCombination?.(result, i, combinations.length);
  }
  return {
    format: 'gradlab-technique-matrix/1',
    command: options.command ?? 'runMatrix()',
    date: new Date().toISOString(),
    machine,
    settings,
    data,
    model: { dim: args.dim, layers: args.nLayers, vocabSize: args.vocabSize, ...(args.hiddenDim !== undefined ? { hiddenDim: args.hiddenDim } : {}) },
    combinations: results,
  };
}

/** The result of `name` in a matrix, or an error listing the names present. */
export function findCombination(matrix: Pick<MatrixResult, 'combinations'>, name: string): CombinationResult {
  const found = matrix.combinations.find((r) => r.name === name);
  if (!found) throw new Error(`matrix: no combination '${name}' in the results; present: ${matrix.combinations.map((r) => r.name).join(', ')}`);
  return found;
}
