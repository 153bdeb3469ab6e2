// The memory model's symbolic runtime: tensors that have a shape, strides and
// a dtype but no data. Every rule that decides when bytes come and go is
// restated here from the design, not imported: a storage is freed when its
// last handle and tape reference go; a handle belongs to the innermost tidy
// scope; a storage's ledger category follows from its role (or, for an
// activation, from whether the tape holds it); a kernel allocates exactly its
// outputs, plus a dense copy of an input only where that input's layout is not
// dense (denseOf) or a matmul operand's layout has no copy-free form. What
// comes out is the sequence of ledger changes a training step makes, from
// shapes alone, so the predicted peak, its breakdown, each category's own
// maximum and where the peak falls are all read off it.

import { MEMORY_CATEGORIES, type CategoryBytes, type MemoryCategory } from '../tensor/memory-ledger.js';
import { broadcastShapes, broadcastStrides, contiguousStrides, isContiguous, normalizeAxis, numel } from '../tensor/shape.js';
import type { Phase } from '../tensor/work-counter.js';

export type SimDType = 'f64' | 'f32' | 'f16' | 'i32';
export const ELEMENT_BYTES: Record<SimDType, number> = { f64: 8, f32: 4, f16: 2, i32: 4 };
/** The dtype of per-row statistics (rstd, logsumexp) and rotary tables: f32, f64 for f64. */
export const statDType = (d: SimDType): SimDType => (d === 'f64' ? 'f64' : 'f32');

export type SimRole = 'activation' | 'parameter' | 'gradient' | 'optimizerState' | 'autocastCopy';

/** Where the program is when bytes are allocated (the memory timeline's fields). */
export interface SimPlace {
  readonly op: string | null;
  readonly module: string | null;
  readonly phase: Phase;
  /** The kernel op, for allocations outside any differentiable op. */
  readonly kernel: string | null;
}

const zeros = (): CategoryBytes => Object.fromEntries(MEMORY_CATEGORIES.map((c) => [c, 0])) as CategoryBytes;

/** The ledger's rules (src/tensor/memory-ledger.ts), plus the place of the first allocation reaching the peak. */
export class SimLedger {
  live = zeros();
  total = 0;
  peakTotal = 0;
  peak = zeros();
  maxByCategory = zeros();
  /** Where the allocation that set the peak happened (the memory timeline's peakLocation). */
  peakPlace: SimPlace | null = null;
  /** Ledger changes so far (allocations, frees, relabels), as the timeline would count its events. */
  events = 0;
  /** The value of `events` right after the allocation that set the peak. */
  peakEvent = -1;
  /** Called after every change (the peak explanation takes its snapshot from here). */
  afterChange: (() => void) | null = null;

  constructor(private readonly where: () => SimPlace) {}

  private noteMax(c: MemoryCategory): void {
    if (this.live[c] > this.maxByCategory[c]) this.maxByCategory[c] = this.live[c];
  }

  add(c: MemoryCategory, bytes: number): void {
    this.events++;
    this.live[c] += bytes;
    this.total += bytes;
    this.noteMax(c);
    if (this.total > this.peakTotal) {
      this.peakTotal = this.total;
      this.peak = { ...this.live };
      const w = this.where();
      this.peakPlace = { ...w, kernel: w.op === null ? w.kernel : null };
      this.peakEvent = this.events;
    }
    this.afterChange?.();
  }

  remove(c: MemoryCategory, bytes: number): void {
    this.events++;
    if (this.live[c] < bytes) throw new Error(`memory model: removing ${bytes} B from ${c}, which holds ${this.live[c]} B (a bug in the model)`);
    this.live[c] -= bytes;
    this.total -= bytes;
    this.afterChange?.();
  }

  move(from: MemoryCategory, to: MemoryCategory, bytes: number): void {
    if (from === to) return;
    this.events++;
    this.live[from] -= bytes;
    this.live[to] += bytes;
    this.noteMax(to);
    if (this.total === this.peakTotal) this.peak = { ...this.live };
    this.afterChange?.();
  }

  resetPeak(): void {
    this.peakTotal = this.total;
    this.peak = { ...this.live };
    this.maxByCategory = { ...this.live };
    this.peakPlace = null;
    this.peakEvent = -1;
  }
}

// ---- the runtime state (one simulation at a time; everything is synchronous) ----

interface Runtime {
  ledger: SimLedger;
  scopes: Set<SimTensor>[];
  modules: (string | null)[];
  ops: (string | null)[];
  phases: Phase[];
  kernel: string | null;
  gradEnabled: boolean;
  /** Live storages, kept only when a snapshot is wanted. */
  live: Set<SimStorage> | null;
}

/** One live storage in a snapshot: its bytes, category, and where it was allocated. */
export interface SimStorageSnapshot {
  readonly bytes: number;
  readonly category: MemoryCategory;
  readonly origin: SimPlace;
}

let rt: Runtime | null = null;

function runtime(): Runtime {
  if (!rt) throw new Error('memory model: no simulation is running (internal)');
  return rt;
}

/**
 * Runs fn (given the ledger) in a fresh symbolic runtime and returns its result. With
 * snapshotAtEvent, onSnapshot receives the live storages at that ledger change (again after
 * each relabel that follows it at the same total).
 */
export function simulate<T>(fn: (ledger: SimLedger) => T, options: { snapshotAtEvent?: number; onSnapshot?: (live: SimStorageSnapshot[]) => void } = {}): T {
  if (rt) throw new Error('memory model: simulations do not nest');
  const snapshotting = options.snapshotAtEvent !== undefined;
  const state: Runtime = { ledger: null as unknown as SimLedger, scopes: [], modules: [], ops: [], phases: [], kernel: null, gradEnabled: true, live: snapshotting ? new Set() : null };
  state.ledger = new SimLedger(currentPlace);
  if (snapshotting) {
    // At the event, and again after each relabel that follows it at the same total: the ledger's
    // breakdown at the peak includes those relabels (a tensor saved right after it was made).
    let totalThere: number | null = null;
    let done = false;
    state.ledger.afterChange = () => {
      const ledger = state.ledger;
      if (done || ledger.events < options.snapshotAtEvent!) return;
      if (ledger.events === options.snapshotAtEvent) totalThere = ledger.total;
      else if (ledger.total !== totalThere) { done = true; return; }
      options.onSnapshot?.([...state.live!].map((st) => ({ bytes: st.bytes, category: st.category, origin: st.origin! })));
    };
  }
  rt = state;
  try {
    return fn(state.ledger);
  } finally {
    rt = null;
  }
}

function currentPlace(): SimPlace {
  const r = runtime();
  return {
    op: r.ops.length ? r.ops[r.ops.length - 1] : null,
    module: r.modules.length ? r.modules[r.modules.length - 1] : null,
    phase: r.phases.length ? r.phases[r.phases.length - 1] : 'forward',
    kernel: r.kernel,
  };
}

function within<S, T>(stack: S[], value: S, fn: () => T): T {
  stack.push(value);
  try { return fn(); } finally { stack.pop(); }
}
export const withModule = <T>(path: string | null, fn: () => T): T => within(runtime().modules, path, fn);
export function withOp<T>(name: string, fn: () => T): T {
  const r = runtime();
  r.kernel = null;
  try { return within<string | null, T>(r.ops, name, fn); } finally { r.kernel = null; }
}
export const withPhase = <T>(phase: Phase, fn: () => T): T => within(runtime().phases, phase, fn);
export const currentModule = (): string | null => { const m = runtime().modules; return m.length ? m[m.length - 1] : null; };
/** The kernel op about to allocate (kernel-ops' entry points name themselves). */
export const noteKernel = (name: string): void => { runtime().kernel = name; };

export const isGradEnabled = (): boolean => runtime().gradEnabled;
function withGrad<T>(on: boolean, fn: () => T): T {
  const r = runtime();
  const before = r.gradEnabled;
  r.gradEnabled = on;
  try { return fn(); } finally { r.gradEnabled = before; }
}
export const noGrad = <T>(fn: () => T): T => withGrad(false, fn);
export const enableGrad = <T>(fn: () => T): T => withGrad(true, fn);

// ---- storages and handles ----

export class SimStorage {
  readonly bytes: number;
  handleRefs = 0;
  tapeRefs = 0;
  role: SimRole = 'activation';
  trainable = false;
  category: MemoryCategory = 'temporaries';
  freed = false;
  /** Where it was allocated (recorded only while a snapshot is wanted). */
  readonly origin: SimPlace | null = null;

  constructor(readonly dtype: SimDType, readonly numel: number) {
    this.bytes = numel * ELEMENT_BYTES[dtype];
    const r = runtime();
    if (r.live) { this.origin = currentPlace(); r.live.add(this); }
    r.ledger.add('temporaries', this.bytes);
  }

  setRole(role: SimRole, trainable = false): void {
    this.role = role;
    this.trainable = trainable;
    this.recategorize();
  }

  retainHandle(): void { this.handleRefs++; }
  retainTape(): void { this.tapeRefs++; this.recategorize(); }
  releaseHandle(): void { this.handleRefs--; this.freeIfUnreferenced(); }
  releaseTape(): void { this.tapeRefs--; if (!this.freeIfUnreferenced()) this.recategorize(); }

  private categoryFor(): MemoryCategory {
    switch (this.role) {
      case 'parameter': return this.trainable ? 'parametersTrainable' : 'parametersFrozen';
      case 'gradient': return 'gradients';
      case 'optimizerState': return 'optimizerState';
      case 'autocastCopy': return 'autocastWeightCopies';
      case 'activation': return this.tapeRefs > 0 ? 'savedActivations' : 'temporaries';
    }
  }

  private recategorize(): void {
    if (this.freed) return;
    const previous = this.category;
    this.category = this.categoryFor();
    runtime().ledger.move(previous, this.category, this.bytes);
  }

  private freeIfUnreferenced(): boolean {
    if (this.handleRefs > 0 || this.tapeRefs > 0 || this.freed) return false;
    this.freed = true;
    const r = runtime();
    r.live?.delete(this);
    r.ledger.remove(this.category, this.bytes);
    return true;
  }
}

/** What a tensor's producer on the tape looks like to the runtime (memory-model-autograd.ts implements it). */
export interface SimGradFn {
  release(): void;
}

export class SimTensor {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  gradFn: SimGradFn | null = null;
  requiresGrad = false;
  grad: SimTensor | null = null;
  disposed = false;

  constructor(readonly storage: SimStorage, shape: readonly number[], strides?: readonly number[], readonly offset = 0) {
    // Shapes and strides are never mutated after construction, so they are shared, not copied.
    this.shape = shape;
    this.strides = strides ?? contiguousStrides(shape);
    storage.retainHandle();
    const scopes = runtime().scopes;
    scopes[scopes.length - 1]?.add(this);
  }

  get dtype(): SimDType { return this.storage.dtype; }
  get numel(): number { return numel(this.shape); }
  get rank(): number { return this.shape.length; }
  get isContiguous(): boolean { return isContiguous(this.shape, this.strides); }
  get isDense(): boolean { return this.offset === 0 && this.isContiguous && this.numel === this.storage.numel; }
  get isLeaf(): boolean { return this.gradFn === null; }

  view(shape: readonly number[], strides: readonly number[], offset: number): SimTensor {
    return new SimTensor(this.storage, shape, strides, offset);
  }

  keep(): this { untrack(this); return this; }

  setStorageRole(role: SimRole, trainable = false): this { this.storage.setRole(role, trainable); return this; }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    untrack(this);
    const fn = this.gradFn;
    this.gradFn = null;
    fn?.release();
    if (this.grad) { this.grad.dispose(); this.grad = null; }
    this.storage.releaseHandle();
  }
}

function untrack(t: SimTensor): void {
  for (const scope of runtime().scopes) scope.delete(t);
}

function collect(value: unknown, into: Set<SimTensor>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof SimTensor) { into.add(value); return; }
  if (Array.isArray(value)) { for (const v of value) collect(v, into, seen); return; }
  if (value instanceof Map) { for (const v of value.values()) collect(v, into, seen); return; }
  if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, into, seen);
}

/** src/tensor/scope.ts's tidy: disposes, in creation order, every handle made inside except what fn returns. */
export function tidy<T>(fn: () => T): T {
  const scopes = runtime().scopes;
  const scope = new Set<SimTensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const keepers = new Set<SimTensor>();
  collect(result, keepers);
  for (const h of scope) {
    if (keepers.has(h)) scopes[scopes.length - 1]?.add(h);
    else if (!h.disposed) h.dispose();
  }
  return result;
}

// ---- kernel ops: each allocates its outputs (and dense copies where a layout needs one) ----

export function emptyTensor(shape: readonly number[], dtype: SimDType): SimTensor {
  return new SimTensor(new SimStorage(dtype, numel(shape)), shape);
}

export function full(shape: readonly number[], dtype: SimDType): SimTensor {
  noteKernel('fill');
  return emptyTensor(shape, dtype);
}

export function contiguousCopy(x: SimTensor): SimTensor {
  noteKernel('contiguous');
  return emptyTensor(x.shape, x.dtype);
}

/** A handle starting at element 0 in row-major order: a view when possible, else a copy. */
export function denseOf(x: SimTensor): SimTensor {
  return x.offset === 0 && x.isContiguous ? x.view(x.shape, x.strides, 0) : contiguousCopy(x);
}

export function unary(op: string, x: SimTensor): SimTensor {
  noteKernel(op);
  return emptyTensor(x.shape, x.dtype);
}

export function binary(op: string, a: SimTensor, b: SimTensor): SimTensor {
  noteKernel(op);
  return emptyTensor(broadcastShapes(a.shape, b.shape, op), a.dtype);
}

export function reduce(op: string, x: SimTensor, axis: number, keepDim: boolean): SimTensor {
  noteKernel(`reduce-${op}`);
  const a = normalizeAxis(axis, x.rank, op);
  return emptyTensor(keepDim ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a), x.dtype);
}

export function castKernel(x: SimTensor, dtype: SimDType): SimTensor {
  noteKernel('cast');
  return emptyTensor(x.shape, dtype);
}

export function fromHost(shape: readonly number[], dtype: SimDType): SimTensor {
  noteKernel('fromHost');
  return emptyTensor(shape, dtype);
}

/** The batch axes as one stride, or null when they do not collapse (the matmul kernel then copies the operand). */
function collapsedBatchStride(shape: readonly number[], strides: readonly number[]): number | null {
  const dims: [number, number][] = [];
  shape.forEach((d, i) => { if (d !== 1) dims.push([d, strides[i]]); });
  if (dims.length === 0 || dims.every(([, s]) => s === 0)) return 0;
  for (let i = 0; i < dims.length - 1; i++) if (dims[i][1] !== dims[i + 1][1] * dims[i + 1][0]) return null;
  return dims[dims.length - 1][1];
}

function matrixIsDense(t: SimTensor, rows: number, cols: number): boolean {
  const rs = t.strides[t.rank - 2];
  const cs = t.strides[t.rank - 1];
  return ((cs === 1 || cols === 1) && (rs === cols || rows === 1)) || ((rs === 1 || rows === 1) && (cs === rows || cols === 1));
}

/** out (..., m, n) = a (..., m, k) @ b (..., k, n): the output, plus a dense copy of an operand whose layout the kernel cannot read. */
export function matmulKernel(a: SimTensor, b: SimTensor): SimTensor {
  noteKernel('matmul');
  const m = a.shape[a.rank - 2];
  const k = a.shape[a.rank - 1];
  const n = b.shape[b.rank - 1];
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul');
  const out = emptyTensor([...batchShape, m, n], a.dtype);
  if (out.numel === 0 || k === 0) return out;
  const temps: SimTensor[] = [];
  const operand = (t: SimTensor, rows: number, cols: number) => {
    const fullShape = [...batchShape, rows, cols];
    const view = t.view(fullShape, broadcastStrides(t.shape, t.strides, fullShape, 'matmul'), t.offset);
    temps.push(view);
    if (collapsedBatchStride(batchShape, view.strides.slice(0, -2)) === null || !matrixIsDense(view, rows, cols)) temps.push(contiguousCopy(view));
  };
  operand(a, m, k);
  operand(b, k, n);
  for (const t of temps) t.dispose();
  return out;
}

export function gatherRows(table: SimTensor, indices: SimTensor): SimTensor {
  noteKernel('embedding');
  const t = denseOf(table);
  const idx = denseOf(indices);
  const out = emptyTensor([...indices.shape, table.shape[1]], table.dtype);
  t.dispose();
  idx.dispose();
  return out;
}

export function scatterAddRows(src: SimTensor, indices: SimTensor, rows: number): SimTensor {
  noteKernel('embedding backward');
  const out = full([rows, src.shape[src.rank - 1]], src.dtype);
  const s = denseOf(src);
  const idx = denseOf(indices);
  s.dispose();
  idx.dispose();
  return out;
}

export function accumulateInto(dst: SimTensor, src: SimTensor): void {
  noteKernel('accumulate');
  const s = src.dtype === dst.dtype ? denseOf(src) : castKernel(src, dst.dtype);
  s.dispose();
}

/** Fused kernels take dense inputs: a copy of each input that is not (fused-ops.ts's withDense), freed after the call. */
export function withDense(inputs: SimTensor[]): void {
  const dense = inputs.map(denseOf);
  for (const d of dense) d.dispose();
}

/** A fused kernel: its outputs (allocated first), then the dense copies of its inputs. */
export function fused(name: string, outputs: [readonly number[], SimDType][], inputs: SimTensor[]): SimTensor[] {
  noteKernel(name);
  const outs = outputs.map(([shape, dtype]) => emptyTensor(shape, dtype));
  if (outs[0].numel > 0) withDense(inputs);
  return outs;
}
