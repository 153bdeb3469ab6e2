// The memory timeline: every allocation, free and re-categorization the
// ledger of one backend sees, in order, each tagged with where the program
// was (module path, op, kernel op, phase). Events carry only their own change
// (category and bytes), so replaying them from the starting figures must give
// the ledger's live and peak figures; tests hold the two to each other.

import type { CategoryBytes, MemoryCategory, MemoryLedgerListener } from './memory-ledger.js';
import { currentMemoryContext, setMemoryContextRecording } from './memory-context.js';
import { currentContext } from './runtime.js';
import type { DeviceContext } from './device-context.js';
import { getPhase, type Phase } from './work-counter.js';

export type MemoryEventKind = 'alloc' | 'free' | 'move';

export interface MemoryEvent {
  /** 0, 1, 2, ... in the order the ledger saw the changes. */
  readonly seq: number;
  readonly kind: MemoryEventKind;
  /** The category the bytes are in after the event (for a free: the one they left). */
  readonly category: MemoryCategory;
  /** For a move: the category the bytes left. */
  readonly fromCategory?: MemoryCategory;
  readonly bytes: number;
  /** The storage's id; null for a composite kernel's scratch buffer, which is no Storage. */
  readonly storageId: number | null;
  /** The differentiable op or named region (`matmul`, `optimizer.step`) running, or null. */
  readonly op: string | null;
  /** For an alloc outside any op: the kernel op that allocated (`fill`, `fromHost`, `cast`); null otherwise. */
  readonly kernel: string | null;
  /** Dotted module path (`layers.0.attention.wq`), the root module's class name, or null. */
  readonly module: string | null;
  readonly phase: Phase;
  /** Milliseconds since recording started (performance.now()); not deterministic. */
  readonly timeMs: number;
}

/** What the ledger showed when recording started: replaying from here reproduces its figures. */
export interface MemoryTimelineStart {
  readonly live: CategoryBytes;
  readonly peakTotal: number;
  readonly peak: CategoryBytes;
  readonly maxByCategory: CategoryBytes;
}

export interface MemoryTimeline {
  /** The backend whose ledger was recorded. */
  readonly backend: string;
  readonly start: MemoryTimelineStart;
  readonly events: MemoryEvent[];
}

class Recorder implements MemoryLedgerListener {
  readonly events: MemoryEvent[] = [];
  private readonly t0 = performance.now();

  constructor(readonly context: DeviceContext, readonly start: MemoryTimelineStart) {}

  private push(kind: MemoryEventKind, category: MemoryCategory, bytes: number, storageId: number | null, fromCategory?: MemoryCategory): void {
    const where = currentMemoryContext();
    const event: MemoryEvent = {
      seq: this.events.length,
      kind,
      category,
      ...(fromCategory !== undefined ? { fromCategory } : {}),
      bytes,
      storageId,
      op: where.op,
      // Only allocations outside any op get a kernel label: inside one the op names them, and a
      // kernel op's own helper copies would blur the label. Frees and relabels come from scope
      // ends and tape changes, not from kernels.
      kernel: kind === 'alloc' && where.op === null ? where.kernel : null,
      module: where.module,
      phase: getPhase(),
      timeMs: performance.now() - this.t0,
    };
    this.events.push(event);
  }

  added(category: MemoryCategory, bytes: number, storageId: number | null): void { this.push('alloc', category, bytes, storageId); }
  removed(category: MemoryCategory, bytes: number, storageId: number | null): void { this.push('free', category, bytes, storageId); }
  moved(from: MemoryCategory, to: MemoryCategory, bytes: number, storageId: number | null): void { this.push('move', to, bytes, storageId, from); }
}

let active: Recorder | null = null;

/**
 * Starts recording the current backend's ledger (one timeline at a time).
 * Start it before the forward: backward attributes each node to the module
 * recorded when the node was made, which only happens while recording.
 */
export function startMemoryTimeline(context: DeviceContext = currentContext()): void {
  if (active) throw new Error(`startMemoryTimeline: a timeline is already recording (backend '${active.context.name}', ${active.events.length} events so far); stop it first`);
  if (context.ledger.listener) throw new Error(`startMemoryTimeline: the ledger of backend '${context.name}' already has a listener`);
  const report = context.ledger.snapshot({ reservedBytes: 0, allocatedBytes: 0 });
  const recorder = new Recorder(context, { live: report.live, peakTotal: report.peakTotal, peak: report.peak, maxByCategory: report.maxByCategory });
  context.ledger.listener = recorder;
  setMemoryContextRecording(true);
  active = recorder;
}

/** Stops recording and returns every event since start. */
export function stopMemoryTimeline(): MemoryTimeline {
  if (!active) throw new Error('stopMemoryTimeline: no timeline is recording (call startMemoryTimeline first)');
  const recorder = active;
  active = null;
  recorder.context.ledger.listener = null;
  setMemoryContextRecording(false);
  return { backend: recorder.context.name, start: recorder.start, events: recorder.events };
}

export function isMemoryTimelineRecording(): boolean {
  return active !== null;
}

/**
 * Records the memory timeline of fn on the current backend. An async fn (a
 * training step that reads its loss) gives a Promise; keep other work off
 * this backend until it settles, or it lands in the timeline too.
 */
export function recordMemoryTimeline(fn: () => Promise<unknown>): Promise<MemoryTimeline>;
export function recordMemoryTimeline(fn: () => unknown): MemoryTimeline;
export function recordMemoryTimeline(fn: () => unknown): MemoryTimeline | Promise<MemoryTimeline> {
  startMemoryTimeline();
  let result: unknown;
  try {
    result = fn();
  } catch (err) {
    stopMemoryTimeline();
    throw err;
  }
  if (result instanceof Promise) {
    return result.then(
      () => stopMemoryTimeline(),
      (err: unknown) => { stopMemoryTimeline(); throw err; },
    );
  }
  return stopMemoryTimeline();
}
