// Replaying a memory timeline: live bytes per category after every event,
// computed from the events' own category and bytes with the ledger's rules
// (the peak is the highest total; a relabel while the total sits at the peak
// refreshes the peak's breakdown). It reproduces the ledger's figures
// without reading it, which is what makes the timeline trustworthy, and it
// says where the peak happened.

import { MEMORY_CATEGORIES, type CategoryBytes } from '../tensor/memory-ledger.js';
import type { MemoryEvent, MemoryTimeline, MemoryTimelineStart } from '../tensor/memory-timeline.js';
import type { Phase } from '../tensor/work-counter.js';

const zeros = (): CategoryBytes => Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, 0])) as CategoryBytes;
const total = (bytes: CategoryBytes): number => MEMORY_CATEGORIES.reduce((sum, c) => sum + bytes[c], 0);

/** The ledger's figures as the events rebuild them (same fields and meaning as a MemoryReport's). */
export interface TimelineReplay {
  readonly live: CategoryBytes;
  readonly liveTotal: number;
  /** Highest total in the ledger's window (which began at the last resetPeak, possibly before recording). */
  readonly peakTotal: number;
  readonly peak: CategoryBytes;
  readonly maxByCategory: CategoryBytes;
  /** Total live bytes after each event (index = event position). */
  readonly totals: number[];
}

export interface PeakLocation {
  /** The event at which the replayed total first reached its highest value during the recording. */
  readonly event: MemoryEvent;
  readonly seq: number;
  readonly totalBytes: number;
  /** Live bytes per category just after that event. */
  readonly liveByCategory: CategoryBytes;
  readonly op: string | null;
  readonly kernel: string | null;
  readonly module: string | null;
  readonly phase: Phase;
  /** E.g. "recomputation of layers.0.attention.wq (op matmul)" or "optimizer step (kernel fill)". */
  readonly description: string;
}

function applyEvent(live: CategoryBytes, e: MemoryEvent): void {
  if (e.kind === 'alloc') live[e.category] += e.bytes;
  else if (e.kind === 'free') live[e.category] -= e.bytes;
  else {
    if (e.fromCategory === undefined) throw new Error(`memory timeline: move event ${e.seq} has no fromCategory`);
    live[e.fromCategory] -= e.bytes;
    live[e.category] += e.bytes;
  }
  const negative = MEMORY_CATEGORIES.find((c) => live[c] < 0);
  if (negative) throw new Error(`memory timeline: replaying event ${e.seq} (${e.kind} of ${e.bytes} B, ${e.category}) leaves ${negative} at ${live[negative]} B; the events do not start from the given figures`);
}

function startOf(input: MemoryTimeline | readonly MemoryEvent[]): { start: MemoryTimelineStart; events: readonly MemoryEvent[] } {
  if (Array.isArray(input)) return { start: { live: zeros(), peakTotal: 0, peak: zeros(), maxByCategory: zeros() }, events: input as readonly MemoryEvent[] };
  const t = input as MemoryTimeline;
  return { start: t.start, events: t.events };
}

/**
 * Replays the events from the figures the ledger showed at start (a bare
 * event list starts from zero bytes).
 */
export function replayMemoryTimeline(input: MemoryTimeline | readonly MemoryEvent[]): TimelineReplay {
  const { start, events } = startOf(input);
  const live = { ...start.live };
  let liveTotal = total(live);
  let peakTotal = start.peakTotal;
  let peak = { ...start.peak };
  const maxByCategory = { ...start.maxByCategory };
  const totals: number[] = [];
  for (const e of events) {
    applyEvent(live, e);
    if (e.kind === 'alloc') liveTotal += e.bytes;
    else if (e.kind === 'free') liveTotal -= e.bytes;
    if (e.kind !== 'free' && live[e.category] > maxByCategory[e.category]) maxByCategory[e.category] = live[e.category];
    if (e.kind === 'alloc' && liveTotal > peakTotal) {
      peakTotal = liveTotal;
      peak = { ...live };
    } else if (e.kind === 'move' && liveTotal === peakTotal) {
      peak = { ...live };
    }
    totals.push(liveTotal);
  }
  return { live, liveTotal, peakTotal, peak, maxByCategory, totals };
}

/** Live bytes per category after each event, for charts: one row per event. */
export function liveBytesSeries(input: MemoryTimeline | readonly MemoryEvent[]): { seq: number; timeMs: number; live: CategoryBytes }[] {
  const { start, events } = startOf(input);
  const live = { ...start.live };
  return events.map((e) => {
    applyEvent(live, e);
    return { seq: e.seq, timeMs: e.timeMs, live: { ...live } };
  });
}

function describe(e: MemoryEvent): string {
  const what = [e.op ? `op ${e.op}` : null, e.kernel ? `kernel ${e.kernel}` : null].filter(Boolean).join(', ');
  const head = e.phase === 'optimizer' ? 'optimizer step' : e.module ? `${e.phase} of ${e.module}` : `${e.phase}, outside any module`;
  return what ? `${head} (${what})` : head;
}

/**
 * Where the recording's highest total happened: the first event that brought
 * the replayed live bytes to their maximum, with its op, module and phase.
 * Null for a timeline without events. When the ledger's peak window began at
 * a resetPeak just before recording, totalBytes equals the ledger's peakTotal.
 */
export function peakLocation(input: MemoryTimeline | readonly MemoryEvent[]): PeakLocation | null {
  const { start, events } = startOf(input);
  if (events.length === 0) return null;
  const live = { ...start.live };
  let liveTotal = total(live);
  let best = -1;
  let bestTotal = -Infinity;
  let bestLive = live;
  events.forEach((e, i) => {
    applyEvent(live, e);
    if (e.kind === 'alloc') liveTotal += e.bytes;
    else if (e.kind === 'free') liveTotal -= e.bytes;
    if (liveTotal > bestTotal) {
      bestTotal = liveTotal;
      best = i;
      bestLive = { ...live };
    }
  });
  const event = events[best];
  return {
    event,
    seq: event.seq,
    totalBytes: bestTotal,
    liveByCategory: bestLive,
    op: event.op,
    kernel: event.kernel,
    module: event.module,
    phase: event.phase,
    description: describe(event),
  };
}
