// The memory timeline as JSON in the shapes PyTorch's memory profiler writes
// (torch/profiler/_memory_profiler.py): export_memory_timeline_raw's
// (time, action, bytes, category index) tuples and export_memory_timeline's
// [times, sizes by category], plus gradlab's own events with op, module and
// phase. Each storage gets one PyTorch category per gradlab category it sits
// in, so every byte added to a PyTorch category is later taken from the same
// one; the mapping and its reasons are in the README (memory timeline).

import type { MemoryCategory } from '../tensor/memory-ledger.js';
import { MEMORY_CATEGORIES } from '../tensor/memory-ledger.js';
import type { MemoryEvent, MemoryTimeline } from '../tensor/memory-timeline.js';

/** PyTorch's categories in its _CATEGORY_TO_INDEX order (UNKNOWN is its `None`). */
export const PYTORCH_MEMORY_CATEGORIES = ['PARAMETER', 'OPTIMIZER_STATE', 'INPUT', 'TEMPORARY', 'ACTIVATION', 'GRADIENT', 'AUTOGRAD_DETAIL', 'UNKNOWN'] as const;
export type PytorchMemoryCategory = (typeof PYTORCH_MEMORY_CATEGORIES)[number];

/** PyTorch's Action values (enum.auto(), so they start at 1). */
export const PYTORCH_ACTIONS = { PREEXISTING: 1, CREATE: 2, INCREMENT_VERSION: 3, DESTROY: 4 } as const;

/** The category-level mapping; `temporaries` is refined per storage (see pytorchCategoryFor). */
export const PYTORCH_CATEGORY_OF: Record<MemoryCategory, PytorchMemoryCategory> = {
  parametersTrainable: 'PARAMETER',
  parametersFrozen: 'PARAMETER',
  gradients: 'GRADIENT',
  optimizerState: 'OPTIMIZER_STATE',
  savedActivations: 'ACTIVATION',
  autocastWeightCopies: 'UNKNOWN',
  temporaries: 'TEMPORARY',
};

/**
 * The PyTorch category of bytes entering gradlab category `category` at event
 * e. Temporaries made during backward are the gradients flowing between
 * nodes and the backward kernels' outputs: PyTorch's AUTOGRAD_DETAIL. Host
 * data loaded outside any op or module (a token batch) is PyTorch's INPUT,
 * and stays INPUT while the tape saves it.
 */
function pytorchCategoryFor(e: MemoryEvent, category: MemoryCategory, previous: PytorchMemoryCategory | undefined): PytorchMemoryCategory {
  // A composite kernel's scratch lives and dies inside one kernel: PyTorch's TEMPORARY exactly.
  if (e.storageId === null) return PYTORCH_CATEGORY_OF[category];
  if (category === 'temporaries' || category === 'savedActivations') {
    if (previous === 'INPUT') return 'INPUT';
    if (e.kind === 'alloc' && e.kernel === 'fromHost' && e.module === null) return 'INPUT';
    if (category === 'temporaries' && e.kind === 'alloc' && e.phase === 'backward') return 'AUTOGRAD_DETAIL';
    if (category === 'temporaries' && previous === 'AUTOGRAD_DETAIL') return 'AUTOGRAD_DETAIL';
  }
  return PYTORCH_CATEGORY_OF[category];
}

export interface PytorchLabelledEvent extends MemoryEvent {
  readonly pytorchCategory: PytorchMemoryCategory;
  /** For a move: the PyTorch category the bytes left. */
  readonly pytorchFromCategory?: PytorchMemoryCategory;
}

/** Each event with its PyTorch category (storage by storage, so adds and removes always pair up). */
export function labelWithPytorchCategories(timeline: MemoryTimeline): PytorchLabelledEvent[] {
  const byStorage = new Map<number, PytorchMemoryCategory>();
  return timeline.events.map((e) => {
    const known = e.storageId === null ? undefined : byStorage.get(e.storageId);
    if (e.kind === 'free') {
      if (e.storageId !== null) byStorage.delete(e.storageId);
      return { ...e, pytorchCategory: known ?? pytorchCategoryFor(e, e.category, undefined) };
    }
    const pytorchCategory = pytorchCategoryFor(e, e.category, known);
    if (e.storageId !== null) byStorage.set(e.storageId, pytorchCategory);
    if (e.kind === 'alloc') return { ...e, pytorchCategory };
    // A storage that was live before recording started is mapped by its category alone, as the PREEXISTING entries are.
    const pytorchFromCategory = known ?? PYTORCH_CATEGORY_OF[e.fromCategory!];
    return { ...e, pytorchCategory, pytorchFromCategory };
  });
}

export type TimeAxis = 'us' | 'seq';

/** Raw tuples as export_memory_timeline_raw writes them: [time, action, bytes (signed), category index]. */
export function pytorchRawEvents(timeline: MemoryTimeline, time: TimeAxis = 'us'): [number, number, number, number][] {
  const index = (c: PytorchMemoryCategory) => PYTORCH_MEMORY_CATEGORIES.indexOf(c);
  const t = (e: MemoryEvent) => (time === 'us' ? Math.round(e.timeMs * 1000) : e.seq);
  const raw: [number, number, number, number][] = [];
  for (const c of MEMORY_CATEGORIES) {
    if (timeline.start.live[c] > 0) raw.push([-1, PYTORCH_ACTIONS.PREEXISTING, timeline.start.live[c], index(PYTORCH_CATEGORY_OF[c])]);
  }
  for (const e of labelWithPytorchCategories(timeline)) {
    if (e.kind === 'alloc') raw.push([t(e), PYTORCH_ACTIONS.CREATE, e.bytes, index(e.pytorchCategory)]);
    else if (e.kind === 'free') raw.push([t(e), PYTORCH_ACTIONS.DESTROY, -e.bytes, index(e.pytorchCategory)]);
    else if (e.pytorchFromCategory !== e.pytorchCategory) {
      // A relabel is PyTorch's version bump: out of the old category, into the new one.
      raw.push([t(e), PYTORCH_ACTIONS.INCREMENT_VERSION, -e.bytes, index(e.pytorchFromCategory!)]);
      raw.push([t(e), PYTORCH_ACTIONS.INCREMENT_VERSION, e.bytes, index(e.pytorchCategory)]);
    }
  }
  return raw;
}

/**
 * export_memory_timeline's [times, sizes]: one row per distinct time, each
 * [0, bytes per PyTorch category in PYTORCH_MEMORY_CATEGORIES order] (the
 * leading 0 is PyTorch's base for its cumulative sum).
 */
export function pytorchTimelineSizes(timeline: MemoryTimeline, time: TimeAxis = 'us'): [number[], number[][]] {
  const times: number[] = [];
  const sizes: number[][] = [];
  for (const [t, , bytes, category] of pytorchRawEvents(timeline, time)) {
    if (times.length === 0) {
      times.push(t);
      sizes.push(new Array(PYTORCH_MEMORY_CATEGORIES.length + 1).fill(0));
    } else if (t !== times[times.length - 1]) {
      times.push(t);
      sizes.push([...sizes[sizes.length - 1]]);
    }
    sizes[sizes.length - 1][category + 1] += bytes;
  }
  return [times, sizes];
}

/** An exported event; timeMs is left out of a file written with time 'seq', so it is deterministic. */
export type ExportedMemoryEvent = Omit<PytorchLabelledEvent, 'timeMs'> & { readonly timeMs?: number };

export interface MemoryTimelineJson {
  readonly format: 'gradlab-memory-timeline/1';
  readonly backend: string;
  readonly timeAxis: TimeAxis;
  readonly gradlabCategories: readonly MemoryCategory[];
  readonly pytorchCategories: readonly PytorchMemoryCategory[];
  readonly start: MemoryTimeline['start'];
  readonly events: ExportedMemoryEvent[];
  /** export_memory_timeline_raw's layout. */
  readonly pytorchRaw: [number, number, number, number][];
  /** export_memory_timeline's layout. */
  readonly pytorchTimeline: [number[], number[][]];
}

/** Everything in one JSON document; `time: 'seq'` gives a deterministic file (event numbers instead of microseconds). */
export function memoryTimelineToJson(timeline: MemoryTimeline, options: { time?: TimeAxis } = {}): MemoryTimelineJson {
  const time = options.time ?? 'us';
  return {
    format: 'gradlab-memory-timeline/1',
    backend: timeline.backend,
    timeAxis: time,
    gradlabCategories: MEMORY_CATEGORIES,
    pytorchCategories: PYTORCH_MEMORY_CATEGORIES,
    start: timeline.start,
    events: labelWithPytorchCategories(timeline).map((e): ExportedMemoryEvent => {
      if (time === 'us') return e;
      const { timeMs: _dropped, ...rest } = e;
      return rest;
    }),
    pytorchRaw: pytorchRawEvents(timeline, time),
    pytorchTimeline: pytorchTimelineSizes(timeline, time),
  };
}

export function exportMemoryTimeline(timeline: MemoryTimeline, options: { time?: TimeAxis } = {}): string {
  return JSON.stringify(memoryTimelineToJson(timeline, options));
}
