// Counts what every kernel call costs, computed from shapes by the kernel-spec
// table: FLOPs and bytes moved, split by training phase, so a study can say
// what a technique costs in compute (checkpointing's recomputation, say), not
// just in seconds.

export const PHASES = ['forward', 'backward', 'recomputation', 'optimizer'] as const;
export type Phase = (typeof PHASES)[number];

export interface WorkTotals {
  calls: number;
  flops: number;
  bytes: number;
}

export interface WorkReport {
  readonly byPhase: Record<Phase, WorkTotals>;
  /** Per phase, per kernel name. */
  readonly byKernel: Record<Phase, Record<string, WorkTotals>>;
  readonly total: WorkTotals;
}

let currentPhase: Phase = 'forward';

/** Runs fn with the work counter attributing kernel calls to `phase`. */
export function withPhase<T>(phase: Phase, fn: () => T): T {
  const previous = currentPhase;
  currentPhase = phase;
  try {
    return fn();
  } finally {
    currentPhase = previous;
  }
}

export function getPhase(): Phase {
  return currentPhase;
}

const empty = (): WorkTotals => ({ calls: 0, flops: 0, bytes: 0 });

export class WorkCounter {
  private byKernel = new Map<Phase, Map<string, WorkTotals>>();

  record(kernel: string, flops: number, bytes: number): void {
    let phaseMap = this.byKernel.get(currentPhase);
    if (!phaseMap) this.byKernel.set(currentPhase, (phaseMap = new Map()));
    let totals = phaseMap.get(kernel);
    if (!totals) phaseMap.set(kernel, (totals = empty()));
    totals.calls++;
    totals.flops += flops;
    totals.bytes += bytes;
  }

  reset(): void {
    this.byKernel = new Map();
  }

  report(): WorkReport {
    const byPhase = Object.fromEntries(PHASES.map((p) => [p, empty()])) as Record<Phase, WorkTotals>;
    const byKernel = Object.fromEntries(PHASES.map((p) => [p, {}])) as Record<Phase, Record<string, WorkTotals>>;
    const total = empty();
    for (const [phase, kernels] of this.byKernel) {
      for (const [name, t] of kernels) {
        byKernel[phase][name] = { ...t };
        for (const agg of [byPhase[phase], total]) {
          agg.calls += t.calls;
          agg.flops += t.flops;
          agg.bytes += t.bytes;
        }
      }
    }
    return { byPhase, byKernel, total };
  }
}

export function formatWorkReport(report: WorkReport): string {
  const fmt = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(3)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(3)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(3)} k` : `${n} `);
  const lines = ['phase           calls        FLOPs        bytes'];
  for (const p of PHASES) {
    const t = report.byPhase[p];
    lines.push(`${p.padEnd(14)} ${String(t.calls).padStart(6)} ${fmt(t.flops).padStart(12)} ${fmt(t.bytes).padStart(12)}`);
  }
  const t = report.total;
  lines.push(`${'total'.padEnd(14)} ${String(t.calls).padStart(6)} ${fmt(t.flops).padStart(12)} ${fmt(t.bytes).padStart(12)}`);
  return lines.join('\n');
}
