// The memory model's symbolic autograd: the ops a LLaMA training step uses,
// each stated as what its forward allocates and saves and what its backward
// allocates (restated from src/autograd/ops/*.ts's `saves` contracts and
// kernels), the tape (nodes freed when their last holder goes, saved tensors
// dropped right after the node's backward), backward in decreasing recording
// order with leaf gradients taken over or copied, non-reentrant checkpoint()
// (pack keeps nothing; the first unpack recomputes the region and hands each
// saved tensor out once), and autocast with ATen's cached_cast rule.

import { inferReshape, invertPermutation, normalizeAxis, shapesEqual, viewStrides } from '../tensor/shape.js';
import {
  accumulateInto, binary, castKernel, contiguousCopy, currentModule, enableGrad, fused, full, gatherRows, isGradEnabled,
  matmulKernel, noGrad, noteKernel, reduce, scatterAddRows, SimTensor, statDType, tidy, unary, withModule, withOp, withPhase,
  type SimDType, type SimGradFn,
} from './memory-model-engine.js';

// ---- views and shape helpers ----

function reshapeRaw(x: SimTensor, shape: readonly number[]): SimTensor {
  const target = inferReshape(x.numel, shape, 'reshape');
  const strides = viewStrides(x.shape, x.strides, target);
  if (strides) return x.view(target, strides, x.offset);
  const dense = contiguousCopy(x);
  const out = dense.view(target, viewStrides(dense.shape, dense.strides, target)!, 0);
  dense.dispose();
  return out;
}

const permuteRaw = (x: SimTensor, perm: readonly number[]) => x.view(perm.map((p) => x.shape[p]), perm.map((p) => x.strides[p]), x.offset);

function sliceRaw(x: SimTensor, axis: number, start: number, end: number): SimTensor {
  const a = normalizeAxis(axis, x.rank, 'slice');
  const from = Math.min(Math.max(start, 0), x.shape[a]);
  const to = Math.max(from, Math.min(Math.max(end, 0), x.shape[a]));
  return x.view(x.shape.map((d, i) => (i === a ? to - from : d)), x.strides, x.offset + from * x.strides[a]);
}

function transposeLast(t: SimTensor): SimTensor {
  const r = t.rank;
  const shape = [...t.shape];
  const strides = [...t.strides];
  [shape[r - 2], shape[r - 1]] = [shape[r - 1], shape[r - 2]];
  [strides[r - 2], strides[r - 1]] = [strides[r - 1], strides[r - 2]];
  return t.view(shape, strides, t.offset);
}

function flattenLeading(t: SimTensor): SimTensor {
  const shape = [t.numel / Math.max(1, t.shape[t.rank - 1]), t.shape[t.rank - 1]];
  const strides = viewStrides(t.shape, t.strides, shape);
  if (strides) return t.view(shape, strides, t.offset);
  return contiguousCopy(t).view(shape, [shape[1], 1], 0);
}

/** Sums a broadcast gradient back to `shape` (one reduction per expanded axis). */
function sumToShape(g: SimTensor, shape: readonly number[]): SimTensor {
  if (shapesEqual(g.shape, shape)) return g.view(g.shape, g.strides, g.offset);
  let current = g;
  const owned: SimTensor[] = [];
  while (current.rank > shape.length) { current = reduce('sum', current, 0, false); owned.push(current); }
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1 && current.shape[i] !== 1) { current = reduce('sum', current, i, true); owned.push(current); }
  }
  const result = current.view(current.shape, current.strides, current.offset);
  for (const t of owned) t.dispose();
  return result;
}

// ---- ops ----

interface Forward { output: SimTensor; saved?: SimTensor[]; state?: unknown }
interface SimOp {
  readonly name: string;
  forward(inputs: SimTensor[], attrs: any, needs: boolean[]): Forward;
  backward(g: SimTensor, saved: SimTensor[], state: any, needs: boolean[], attrs: any): (SimTensor | null)[];
}

const castOp: SimOp = {
  name: 'cast',
  forward: ([x], { dtype }) => ({ output: castKernel(x, dtype), state: x.dtype }),
  backward: (g, _s, from) => [castKernel(g, from)],
};
const addOp: SimOp = {
  name: 'add',
  forward: ([a, b]) => ({ output: binary('add', a, b), state: [a.shape, b.shape] }),
  backward: (g, _s, [aShape, bShape], needs) => [needs[0] ? sumToShape(g, aShape) : null, needs[1] ? sumToShape(g, bShape) : null],
};
const mulScalarOp: SimOp = {
  name: 'mulScalar',
  forward: ([x]) => ({ output: unary('mulScalar', x) }),
  backward: (g) => [unary('mulScalar', g)],
};
const matmulOp: SimOp = {
  name: 'matmul',
  forward: ([a, b], _at, needs) => ({ output: matmulKernel(a, b), saved: [needs[1] ? a : null, needs[0] ? b : null].filter((t): t is SimTensor => t !== null), state: [a.shape, b.shape] }),
  backward: (g, saved, [aShape, bShape], needs) => {
    const a = needs[1] ? saved[0] : undefined;
    const b = needs[0] ? (needs[1] ? saved[1] : saved[0]) : undefined;
    const ga = b ? sumToShape(matmulKernel(g, transposeLast(b)), aShape) : null;
    let gb: SimTensor | null = null;
    if (a) gb = bShape.length === 2 && a.rank > 2 ? matmulKernel(transposeLast(flattenLeading(a)), flattenLeading(g)) : sumToShape(matmulKernel(transposeLast(a), g), bShape);
    return [ga, gb];
  },
};
const reshapeOp: SimOp = {
  name: 'reshape',
  forward: ([x], { shape }) => ({ output: reshapeRaw(x, shape), state: x.shape }),
  backward: (g, _s, inputShape) => [reshapeRaw(g, inputShape)],
};
const permuteOp: SimOp = {
  name: 'permute',
  forward: ([x], { perm }) => ({ output: permuteRaw(x, perm) }),
  backward: (g, _s, _st, _n, { perm }) => [permuteRaw(g, invertPermutation(perm))],
};
const sliceOp: SimOp = {
  name: 'slice',
  forward: ([x], { axis, start, end }) => ({ output: sliceRaw(x, axis, start, end), state: x.shape }),
  backward: (g, _s, inputShape, _n, { axis, start, end }) => {
    const gx = full(inputShape, g.dtype);
    const region = sliceRaw(gx, axis, start, end);
    noteKernel('copy');
    region.dispose();
    return [gx];
  },
};
const softmaxOp: SimOp = {
  name: 'softmax',
  forward: ([x]) => { const [y] = fused('softmax', [[x.shape, x.dtype]], [x]); return { output: y, saved: [y] }; },
  backward: (g, [y]) => fused('softmaxBackward', [[y.shape, y.dtype]], [y, g]),
};
const rmsNormOp: SimOp = {
  name: 'rmsNorm',
  forward: ([x, w]) => {
    const [y, rstd] = fused('rmsNorm', [[x.shape, x.dtype], [x.shape.slice(0, -1), statDType(x.dtype)]], [x, w]);
    return { output: y, saved: [x, w, rstd] };
  },
  backward: (g, [x, w, rstd], _s, needs) => {
    const [gx, gw] = fused('rmsNorm backward', [[x.shape, x.dtype], [w.shape, w.dtype]], [x, w, rstd, g]);
    return [needs[0] ? gx : null, needs[1] ? gw : null];
  },
};
const rotaryOp: SimOp = {
  name: 'rotary',
  forward: ([x], { cos, sin }) => ({ output: fused('rotary', [[x.shape, x.dtype]], [x, cos, sin])[0] }),
  backward: (g, _s, _st, _n, { cos, sin }) => fused('rotary', [[g.shape, g.dtype]], [g, cos, sin]),
};
const causalMaskOp: SimOp = {
  name: 'causalMask',
  forward: ([x]) => ({ output: fused('causalMask', [[x.shape, x.dtype]], [x])[0] }),
  backward: (g) => fused('causalMask', [[g.shape, g.dtype]], [g]),
};
const siluMulOp: SimOp = {
  name: 'siluMul',
  forward: ([a, b]) => ({ output: fused('siluMul', [[a.shape, a.dtype]], [a, b])[0], saved: [a, b] }),
  backward: (g, [a, b], _s, needs) => {
    const [ga, gb] = fused('siluMul backward', [[a.shape, a.dtype], [b.shape, b.dtype]], [a, b, g]);
    return [needs[0] ? ga : null, needs[1] ? gb : null];
  },
};
const dropoutOp: SimOp = {
  name: 'dropout',
  forward: ([x]) => ({ output: fused('dropout', [[x.shape, x.dtype]], [x])[0] }),
  backward: (g) => fused('dropout', [[g.shape, g.dtype]], [g]),
};
const embeddingOp: SimOp = {
  name: 'embedding',
  forward: ([weight, indices]) => ({ output: gatherRows(weight, indices), saved: [indices], state: weight.shape[0] }),
  backward: (g, [indices], rows, needs) => {
    if (!needs[0]) return [null, null];
    const flat = reshapeRaw(g, [indices.numel, g.shape[g.rank - 1]]);
    const flatIdx = reshapeRaw(indices, [indices.numel]);
    return [scatterAddRows(flat, flatIdx, rows), null];
  },
};
const crossEntropyOp: SimOp = {
  name: 'crossEntropy',
  forward: ([logits, labels], { reduction }) => {
    const vocab = logits.shape[logits.rank - 1];
    const flatLogits = reshapeRaw(logits, [logits.numel / Math.max(1, vocab), vocab]);
    const flatLabels = reshapeRaw(labels, [labels.numel]);
    const rows = flatLogits.shape[0];
    const stat = statDType(logits.dtype);
    const [loss, lse] = fused('crossEntropy', [[[rows], stat], [[rows], stat]], [flatLogits, flatLabels]);
    const total = reduce('sum', loss, 0, false);
    const state = { inputShape: logits.shape };
    if (reduction === 'sum') return { output: total, saved: [flatLogits, flatLabels, lse], state };
    // validCount: cast the labels, compare with the ignore index, count (all on the device).
    const asFloat = castKernel(flatLabels, loss.dtype);
    const ignoredValue = full([1], loss.dtype);
    const ignored = reduce('sum', binary('eq', asFloat, ignoredValue), 0, false);
    const count = unary('addScalar', unary('neg', ignored));
    return { output: binary('div', total, count), saved: [flatLogits, flatLabels, lse, count], state };
  },
  backward: (g, [flatLogits, flatLabels, lse, count], { inputShape }, needs, { reduction }) => {
    if (!needs[0]) return [null, null];
    const rows = flatLogits.shape[0];
    const scalar = reduction === 'mean' ? binary('div', g, count) : g;
    const gRow = binary('mul', full([rows], scalar.dtype), scalar);
    const [gLogits] = fused('crossEntropyBackward', [[flatLogits.shape, flatLogits.dtype]], [flatLogits, lse, flatLabels, gRow]);
    return [reshapeRaw(gLogits, inputShape), null];
  },
};

// ---- the tape ----

interface Hooks {
  pack(t: SimTensor): unknown;
  unpack(packed: unknown): SimTensor;
  release(packed: unknown): void;
}

/** A tape reference to a saved tensor's storage (src/autograd/saved-tensor.ts). */
class SavedSlot {
  private live = true;
  // Only the handle's storage and layout are read, never its liveness: a saved handle may be disposed later.
  constructor(private readonly t: SimTensor) {
    t.storage.retainTape();
  }
  unpack(): SimTensor {
    return new SimTensor(this.t.storage, this.t.shape, this.t.strides, this.t.offset);
  }
  release(): void {
    if (!this.live) return;
    this.live = false;
    this.t.storage.releaseTape();
  }
}

const defaultHooks: Hooks = {
  pack: (t) => new SavedSlot(t),
  unpack: (p) => (p as SavedSlot).unpack(),
  release: (p) => (p as SavedSlot).release(),
};

type Edge = { node: SimNode } | { leaf: SimTensor };

interface AutogradState { sequence: number; hooks: Hooks[]; autocast: AutocastRegion; nesting: number; cache: Map<SimTensor, SimTensor> }
let ag: AutogradState;

/** Starts a fresh tape, hook stack and autocast state (call inside simulate()). */
export function resetAutograd(): void {
  ag = { sequence: 1, hooks: [], autocast: OFF, nesting: 0, cache: new Map() };
}

class SimNode implements SimGradFn {
  readonly sequence = ag.sequence++;
  readonly edges: (Edge | null)[];
  readonly inputShapes: (readonly number[])[];
  readonly inputDTypes: SimDType[];
  private packed: unknown[];
  private readonly hooks: Hooks;
  private refs = 0;
  private savedFreed = false;
  modulePath: string | null = null;

  constructor(readonly op: SimOp, inputs: SimTensor[], readonly needsGrad: boolean[], saved: SimTensor[], readonly state: unknown, readonly attrs: unknown) {
    this.edges = inputs.map((t, i) => {
      if (!needsGrad[i]) return null;
      const fn = t.gradFn;
      if (fn instanceof SimNode) { fn.retain(); return { node: fn }; }
      return { leaf: t };
    });
    this.inputShapes = inputs.map((t) => t.shape);
    this.inputDTypes = inputs.map((t) => t.dtype);
    this.hooks = ag.hooks[ag.hooks.length - 1] ?? defaultHooks;
    this.packed = saved.map((t) => this.hooks.pack(t));
  }

  retain(): void { this.refs++; }
  release(): void {
    if (--this.refs > 0) return;
    this.freeSaved();
    for (const e of this.edges) if (e && 'node' in e) e.node.release();
  }
  unpackSaved(): SimTensor[] { return this.packed.map((p) => this.hooks.unpack(p)); }
  freeSaved(): void {
    if (this.savedFreed) return;
    this.savedFreed = true;
    for (const p of this.packed) this.hooks.release(p);
    this.packed = [];
  }
}

function applyOp(op: SimOp, inputs: SimTensor[], attrs: unknown = undefined): SimTensor {
  const recording = isGradEnabled();
  const needs = inputs.map((t) => recording && t.requiresGrad);
  const anyGrad = needs.some(Boolean);
  let node: SimNode | null = null;
  const output = withOp(op.name, () => tidy(() => {
    const result = noGrad(() => op.forward(inputs, attrs, needs));
    if (anyGrad) node = new SimNode(op, inputs, needs, result.saved ?? [], result.state, attrs);
    return result.output;
  }));
  if (node) {
    const n = node as SimNode;
    n.modulePath = currentModule();
    n.retain();
    output.gradFn = n;
    output.requiresGrad = true;
  }
  return output;
}

// ---- backward ----

function accumulateLeafGrad(leaf: SimTensor, g: SimTensor): void {
  if (leaf.disposed) return;
  if (leaf.grad) { accumulateInto(leaf.grad, g); return; }
  const exclusive = g.dtype === leaf.dtype && g.isDense && g.storage.handleRefs === 1 && g.storage.tapeRefs === 0 && g.storage.role === 'activation';
  const owned = exclusive ? g.view(g.shape, g.strides, 0) : g.dtype === leaf.dtype ? contiguousCopy(g) : castKernel(g, leaf.dtype);
  owned.keep();
  owned.setStorageRole('gradient');
  leaf.grad = owned;
}

export function backward(root: SimTensor): void {
  withPhase('backward', () => noGrad(() => tidy(() => {
    const seed = full(root.shape, root.dtype);
    const rootNode = root.gradFn as SimNode;
    const seen = new Set<SimNode>();
    const stack = [rootNode];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const e of n.edges) if (e && 'node' in e) stack.push(e.node);
    }
    const order = [...seen].sort((a, b) => b.sequence - a.sequence);
    const pending = new Map<SimNode, SimTensor>([[rootNode, seed]]);
    for (const node of order) {
      const g = pending.get(node);
      if (!g) continue;
      pending.delete(node);
      withModule(node.modulePath, () => withOp(node.op.name, () => {
        const inputGrads = tidy(() => {
          const saved = node.unpackSaved();
          const grads = node.op.backward(g, saved, node.state, node.needsGrad, node.attrs);
          for (const s of saved) s.dispose();
          return grads.map((x, i) => {
            if (!x || !node.edges[i]) return null;
            const checked = x.dtype === node.inputDTypes[i] ? x : castKernel(x, node.inputDTypes[i]);
            return checked.view(x.shape, x.strides, x.offset);
          });
        });
        g.dispose();
        node.freeSaved();
        node.edges.forEach((edge, i) => {
          const gi = inputGrads[i];
          if (!gi) return;
          if (!edge) { gi.dispose(); return; }
          if ('leaf' in edge) { accumulateLeafGrad(edge.leaf, gi); gi.dispose(); return; }
          const existing = pending.get(edge.node);
          if (!existing) { pending.set(edge.node, gi); return; }
          pending.set(edge.node, binary('add', existing, gi));
          existing.dispose();
          gi.dispose();
        });
      }));
    }
    for (const g of pending.values()) g.dispose();
  })));
}

// ---- checkpoint (non-reentrant) ----

interface AmbientState { autocast: AutocastRegion }

class CheckpointFrame {
  private readonly inputs: SavedSlot[];
  private readonly inputRequiresGrad: boolean[];
  private recomputed: (SavedSlot | null)[] | null = null;
  private outstanding = 0;
  packedCount = 0;
  private closed = false;
  private readonly modulePath = currentModule();

  constructor(private readonly fn: (...x: SimTensor[]) => unknown, inputs: SimTensor[], private readonly ambient: AmbientState) {
    this.inputs = inputs.map((t) => new SavedSlot(t));
    this.inputRequiresGrad = inputs.map((t) => t.requiresGrad);
  }

  pack(): number { this.outstanding++; return this.packedCount++; }

  unpack(index: number): SimTensor {
    if (!this.recomputed) this.recompute();
    const slot = this.recomputed![index]!;
    this.recomputed![index] = null;
    const t = slot.unpack();
    slot.release();
    return t;
  }

  release(index: number): void {
    const slot = this.recomputed?.[index];
    if (slot) { slot.release(); this.recomputed![index] = null; }
    if (--this.outstanding === 0) this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.inputs) s.release();
    for (const s of this.recomputed ?? []) s?.release();
    this.recomputed = null;
  }

  private recompute(): void {
    const slots: SavedSlot[] = [];
    const recordHooks: Hooks = {
      pack: (t) => { slots.push(new SavedSlot(t)); return slots.length - 1; },
      unpack: () => { throw new Error('memory model: a recomputed graph is never run backward (internal)'); },
      release: () => {},
    };
    const exitAmbient = enterRegion(this.ambient.autocast);
    try {
      withPhase('recomputation', () => withModule(this.modulePath, () => enableGrad(() => tidy(() => {
        const detached = this.inputs.map((s, i) => { const t = s.unpack(); t.requiresGrad = this.inputRequiresGrad[i]; return t; });
        withHooks(recordHooks, () => this.fn(...detached));
      }))));
    } finally {
      exitAmbient();
    }
    this.recomputed = slots;
  }
}

function withHooks<T>(hooks: Hooks, fn: () => T): T {
  ag.hooks.push(hooks);
  try { return fn(); } finally { ag.hooks.pop(); }
}

export function checkpoint(fn: (x: SimTensor) => SimTensor, input: SimTensor): SimTensor {
  if (!isGradEnabled()) return fn(input);
  const frame = new CheckpointFrame(fn as (...x: SimTensor[]) => unknown, [input], { autocast: ag.autocast });
  const result = withHooks({ pack: () => frame.pack(), unpack: (i) => frame.unpack(i as number), release: (i) => frame.release(i as number) }, () => fn(input));
  if (frame.packedCount === 0) frame.close();
  return result;
}

// ---- autocast (ATen's cached_cast) ----

interface AutocastRegion { enabled: boolean }
const OFF: AutocastRegion = { enabled: false };
const ON: AutocastRegion = { enabled: true };

function enterRegion(region: AutocastRegion): () => void {
  const previous = ag.autocast;
  ag.autocast = region;
  ag.nesting++;
  return () => {
    ag.autocast = previous;
    if (--ag.nesting === 0) {
      for (const copy of ag.cache.values()) copy.dispose();
      ag.cache.clear();
    }
  };
}

export function autocast<T>(fn: () => T): T {
  const exit = enterRegion(ON);
  try { return fn(); } finally { exit(); }
}

/** A cast through the tape; the copy of a parameter is ledgered as an autocast weight copy. */
function castCopy(x: SimTensor, dtype: SimDType): SimTensor {
  const y = applyOp(castOp, [x], { dtype });
  if (x.storage.role === 'parameter') y.setStorageRole('autocastCopy');
  return y;
}

function castToLow(x: SimTensor): SimTensor {
  if ((x.dtype !== 'f32' && x.dtype !== 'f16') || x.dtype === 'f16') return x;
  const cacheable = x.requiresGrad && x.isLeaf && x.isDense;
  if (!cacheable) return castCopy(x, 'f16');
  const hit = ag.cache.get(x);
  if (hit && !hit.disposed) return hit;
  const copy = castCopy(x, 'f16').keep();
  ag.cache.set(x, copy);
  return copy;
}

const toLow = (xs: SimTensor[]) => (ag.autocast.enabled ? xs.map(castToLow) : xs);
const toF32 = (x: SimTensor) => (ag.autocast.enabled && x.dtype === 'f16' ? castCopy(x, 'f32') : x);

// ---- the functional layer (src/autograd/functional.ts) ----

const WIDER: Record<SimDType, number> = { f16: 1, f32: 2, f64: 3, i32: 0 };
export function cast(x: SimTensor, dtype: SimDType): SimTensor {
  return x.dtype === dtype ? x : applyOp(castOp, [x], { dtype });
}
function promoted(a: SimTensor, b: SimTensor): [SimTensor, SimTensor] {
  if (a.dtype === b.dtype) return [a, b];
  const d = WIDER[a.dtype] >= WIDER[b.dtype] ? a.dtype : b.dtype;
  return [cast(a, d), cast(b, d)];
}
export const add = (a: SimTensor, b: SimTensor) => applyOp(addOp, promoted(a, b));
export const mulScalar = (x: SimTensor) => applyOp(mulScalarOp, [x]);
export function matmul(a: SimTensor, b: SimTensor): SimTensor {
  const [a2, b2] = toLow([a, b]);
  return applyOp(matmulOp, promoted(a2, b2));
}
export function transpose(x: SimTensor, i: number, j: number): SimTensor {
  const perm = [...Array(x.rank).keys()];
  const a = normalizeAxis(i, x.rank, 'transpose');
  const b = normalizeAxis(j, x.rank, 'transpose');
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return applyOp(permuteOp, [x], { perm });
}
export function linear(x: SimTensor, weight: SimTensor): SimTensor {
  const [x2, w2] = toLow([x, weight]);
  return matmul(x2, transpose(w2, -1, -2));
}
export const reshape = (x: SimTensor, shape: readonly number[]) => applyOp(reshapeOp, [x], { shape });
export const permute = (x: SimTensor, perm: readonly number[]) => applyOp(permuteOp, [x], { perm });
export const slice = (x: SimTensor, axis: number, start: number, end = Infinity) =>
  applyOp(sliceOp, [x], { axis, start, end: end === Infinity ? x.shape[normalizeAxis(axis, x.rank, 'slice')] : end });
export const softmax = (x: SimTensor) => applyOp(softmaxOp, [toF32(x)]);
export function rmsNorm(x: SimTensor, w: SimTensor): SimTensor {
  return applyOp(rmsNormOp, promoted(toF32(x), toF32(w)));
}
export const rotary = (x: SimTensor, cos: SimTensor, sin: SimTensor) => applyOp(rotaryOp, [x], { cos, sin });
export const causalMask = (x: SimTensor) => applyOp(causalMaskOp, [x]);
export const siluMul = (a: SimTensor, b: SimTensor) => applyOp(siluMulOp, promoted(a, b));
export const dropout = (x: SimTensor, p: number, training: boolean) => (!training || p === 0 ? x : applyOp(dropoutOp, [x], { p }));
export const embedding = (weight: SimTensor, indices: SimTensor) => applyOp(embeddingOp, [weight, indices]);
export const crossEntropy = (logits: SimTensor, labels: SimTensor, reduction: 'mean' | 'sum') => applyOp(crossEntropyOp, [toF32(logits), labels], { reduction });
