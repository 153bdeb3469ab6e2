// AdamW with PyTorch's defaults, validation and update order (decoupled
// weight decay, bias correction). State m and v (same dtype as the parameter)
// exist only for parameters that require grad, are created on the first step
// that sees a gradient, and are ledgered as optimizer state. The update runs
// in one fused kernel per parameter, in place, attributed to the 'optimizer'
// phase. stateDict()/loadStateDict() follow torch.optim's layout
// ({state: {index: {step, exp_avg, exp_avg_sq}}, param_groups: [...]}) so a
// run can be resumed bit for bit.

import { noGrad } from '../autograd/grad-mode.js';
import type { DType, HostArray } from '../tensor/dtype.js';
import { hostArrayMatches } from '../tensor/dtype.js';
import { adamwUpdate } from '../tensor/fused-ops.js';
import { copyIntoView, fromHost, full } from '../tensor/kernel-ops.js';
import { formatShape, numel, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { withPhase } from '../tensor/work-counter.js';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** A tensor's elements on the host, exactly as stored (f16 as bit patterns in a Uint16Array). */
export interface HostTensorData {
  dtype: DType;
  shape: number[];
  data: HostArray;
}

/** One parameter's state, under PyTorch's names. */
export interface AdamWParamState {
  /** Steps taken for this parameter (PyTorch keeps it as a float tensor; here a number). */
  step: number;
  exp_avg: HostTensorData;
  exp_avg_sq: HostTensorData;
}

export interface AdamWParamGroup {
  lr: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  amsgrad: false;
  maximize: false;
  /** The index each of the optimizer's parameters has in `state`, in parameter order. */
  params: number[];
}

/** torch.optim.AdamW.state_dict()'s layout; parameters without state (frozen, never stepped) have no entry. */
export interface AdamWStateDict {
  state: Record<number, AdamWParamState>;
  param_groups: AdamWParamGroup[];
}

export interface ZeroGradOptions {
  /** true (PyTorch's default): free every .grad; false: write zeros into it in place. */
  setToNone?: boolean;
}

interface ParamState { m: Tensor; v: Tensor; step: number }

// PyTorch's checks (torch/optim/adamw.py), written so NaN fails them too.
function validLr(lr: number): number {
  if (typeof lr !== 'number' || !(lr >= 0)) throw new Error(`AdamW: invalid learning rate lr=${lr}: must be a number >= 0`);
  return lr;
}

function validate(o: { eps: number; betas: readonly number[]; weightDecay: number }): void {
  if (typeof o.eps !== 'number' || !(o.eps >= 0)) throw new Error(`AdamW: invalid epsilon eps=${o.eps}: must be a number >= 0`);
  if (!Array.isArray(o.betas) || o.betas.length !== 2) throw new Error(`AdamW: betas must be a pair [beta1, beta2], got ${JSON.stringify(o.betas)}`);
  o.betas.forEach((b, i) => {
    if (typeof b !== 'number' || !(b >= 0 && b < 1)) throw new Error(`AdamW: invalid beta parameter at index ${i}: betas[${i}]=${b}: must satisfy 0 <= beta < 1`);
  });
  if (typeof o.weightDecay !== 'number' || !(o.weightDecay >= 0)) throw new Error(`AdamW: invalid weight_decay weightDecay=${o.weightDecay}: must be a number >= 0`);
}

export class AdamW {
  private lrValue: number;
  private beta1Value: number;
  private beta2Value: number;
  private epsValue: number;
  private weightDecayValue: number;
  private readonly params: Tensor[];
  private readonly state = new Map<Tensor, ParamState>();

  constructor(params: Iterable<Tensor>, options: AdamWOptions = {}) {
    this.params = [...params];
    if (this.params.length === 0) throw new Error('AdamW: got an empty parameter list');
    const betas = options.betas ?? [0.9, 0.999];
    const eps = options.eps ?? 1e-8;
    const weightDecay = options.weightDecay ?? 1e-2;
    this.lrValue = validLr(options.lr ?? 1e-3);
    validate({ eps, betas, weightDecay });
    [this.beta1Value, this.beta2Value] = betas;
    this.epsValue = eps;
    this.weightDecayValue = weightDecay;
    const seen = new Set<Tensor>();
    this.params.forEach((p, i) => {
      if (seen.has(p)) throw new Error(`AdamW: parameter ${i} (${p.describe()}) appears more than once in the parameter list`);
      seen.add(p);
      if (!p.isLeaf) throw new Error(`AdamW: can't optimize a non-leaf tensor: parameter ${i} (${p.describe()}) was produced by an op`);
      if (!p.isDense) throw new Error(`AdamW: parameter ${i} (${p.describe()}) must be a dense tensor`);
    });
  }

  /** The learning rate; a scheduler may set it between steps (validated like the constructor's). */
  get lr(): number { return this.lrValue; }
  set lr(value: number) { this.lrValue = validLr(value); }
  get beta1(): number { return this.beta1Value; }
  get beta2(): number { return this.beta2Value; }
  get eps(): number { return this.epsValue; }
  get weightDecay(): number { return this.weightDecayValue; }

  /** The parameters in the order given (their index is their key in stateDict()). */
  get parameters(): readonly Tensor[] { return this.params; }

  /** One update of every trainable parameter that has a gradient (others are skipped, as in PyTorch). */
  step(): void {
    withPhase('optimizer', () => noGrad(() => {
      for (const p of this.params) {
        if (!p.requiresGrad || !p.grad) continue;
        let s = this.state.get(p);
        if (!s) {
          const m = full(p.shape, 0, p.dtype, p.context).keep().setStorageRole('optimizerState');
          const v = full(p.shape, 0, p.dtype, p.context).keep().setStorageRole('optimizerState');
          this.state.set(p, (s = { m, v, step: 0 }));
        }
        s.step++;
        adamwUpdate(p, p.grad, s.m, s.v, { lr: this.lrValue, beta1: this.beta1Value, beta2: this.beta2Value, eps: this.epsValue, weightDecay: this.weightDecayValue, step: s.step });
      }
    }));
  }

  /**
   * Clears every parameter's .grad: frees it (set_to_none, PyTorch's default),
   * or with {setToNone: false} writes zeros into it, keeping its memory.
   */
  zeroGrad(options: ZeroGradOptions = {}): void {
    const setToNone = options.setToNone ?? true;
    for (const p of this.params) {
      const g = p.grad;
      if (!g) continue;
      if (setToNone) {
        g.dispose();
        p.grad = null;
      } else if (g.isDense) {
        if (g.numel > 0) g.context.kernels.fill(g.storage.buffer, 0);
        g.storage.version++;
      } else {
        const zeros = full(g.shape, 0, g.dtype, g.context);
        try { copyIntoView(zeros, g); } finally { zeros.dispose(); }
      }
    }
  }

  /** Bytes of optimizer state (m and v). */
  get stateBytes(): number {
    let total = 0;
    for (const s of this.state.values()) total += s.m.bytes + s.v.bytes;
    return total;
  }

  /**
   * The state as host arrays, keyed by parameter index (PyTorch's layout).
   * Every read is enqueued before the first await, so the result is the state
   * at the moment of the call even if a step follows before it resolves.
   */
  async stateDict(): Promise<AdamWStateDict> {
    const pending: Promise<[number, AdamWParamState]>[] = [];
    this.params.forEach((p, i) => {
      const s = this.state.get(p);
      if (!s) return;
      const step = s.step;
      const reads = [s.m.rawData(), s.v.rawData()];
      pending.push(Promise.all(reads).then(([m, v]) => [i, {
        step,
        exp_avg: { dtype: s.m.dtype, shape: [...s.m.shape], data: m },
        exp_avg_sq: { dtype: s.v.dtype, shape: [...s.v.shape], data: v },
      }]));
    });
    const group: AdamWParamGroup = {
      lr: this.lrValue, betas: [this.beta1Value, this.beta2Value], eps: this.epsValue, weight_decay: this.weightDecayValue,
      amsgrad: false, maximize: false, params: this.params.map((_, i) => i),
    };
    const state: Record<number, AdamWParamState> = {};
    for (const [i, entry] of await Promise.all(pending)) state[i] = entry;
    return { state, param_groups: [group] };
  }

  /**
   * Restores a stateDict() (hyperparameters included) onto the device bit for
   * bit. Everything is checked before anything changes: the parameter count,
   * each entry's index, shape, dtype, length and step.
   */
  loadStateDict(dict: AdamWStateDict): void {
    const where = 'AdamW.loadStateDict';
    if (!dict || typeof dict !== 'object' || !dict.state || !Array.isArray(dict.param_groups)) {
      throw new Error(`${where}: expected {state, param_groups}, got ${typeof dict === 'object' ? Object.keys(dict ?? {}).join(', ') || 'an empty object' : typeof dict}`);
    }
    if (dict.param_groups.length !== 1) throw new Error(`${where}: the state dict has ${dict.param_groups.length} parameter groups; this optimizer has 1`);
    const group = dict.param_groups[0];
    if (!Array.isArray(group.params) || group.params.length !== this.params.length) {
      throw new Error(`${where}: the state dict's parameter group has ${group.params?.length} parameters; this optimizer has ${this.params.length}`);
    }
    if (group.amsgrad || group.maximize) throw new Error(`${where}: amsgrad and maximize are not supported (the state dict has amsgrad=${group.amsgrad}, maximize=${group.maximize})`);
    const lr = validLr(group.lr);
    if (!Array.isArray(group.betas)) throw new Error(`${where}: betas must be a pair [beta1, beta2], got ${JSON.stringify(group.betas)}`);
    validate({ eps: group.eps, betas: group.betas, weightDecay: group.weight_decay });

    const savedIndexOf = new Map<number, number>();
    group.params.forEach((saved, i) => {
      if (savedIndexOf.has(saved)) throw new Error(`${where}: parameter index ${saved} appears twice in param_groups[0].params`);
      savedIndexOf.set(saved, i);
    });
    const incoming: [Tensor, AdamWParamState][] = [];
    for (const key of Object.keys(dict.state)) {
      const saved = Number(key);
      const i = savedIndexOf.get(saved);
      if (i === undefined) throw new Error(`${where}: state entry ${key} names no parameter of param_groups[0].params`);
      const p = this.params[i];
      const entry = dict.state[saved];
      if (!p.requiresGrad) throw new Error(`${where}: state entry ${key} is for parameter ${i} (${p.describe()}), which does not require grad and so has no optimizer state`);
      if (!Number.isInteger(entry.step) || entry.step < 1) throw new Error(`${where}: state entry ${key}: step must be a positive integer, got ${entry.step}`);
      for (const name of ['exp_avg', 'exp_avg_sq'] as const) {
        const t = entry[name];
        if (!t || !Array.isArray(t.shape)) throw new Error(`${where}: state entry ${key} lacks ${name} ({dtype, shape, data})`);
        if (t.dtype !== p.dtype) throw new Error(`${where}: state entry ${key}.${name} has dtype ${t.dtype}; parameter ${i} (${p.describe()}) needs ${p.dtype}`);
        if (!shapesEqual(t.shape, p.shape)) throw new Error(`${where}: state entry ${key}.${name} has shape ${formatShape(t.shape)}; parameter ${i} (${p.describe()}) has ${formatShape(p.shape)}`);
        if (!hostArrayMatches(t.dtype, t.data) || t.data.length !== numel(t.shape)) {
          throw new Error(`${where}: state entry ${key}.${name}: data (${t.data?.constructor?.name}, ${t.data?.length} elements) does not hold ${numel(t.shape)} ${t.dtype} elements`);
        }
      }
      incoming.push([p, entry]);
    }

    // Valid: replace the state wholesale, as torch.optim does.
    this.dispose();
    for (const [p, entry] of incoming) {
      const m = fromHost(entry.exp_avg.data, p.shape, p.dtype, p.context).keep().setStorageRole('optimizerState');
      const v = fromHost(entry.exp_avg_sq.data, p.shape, p.dtype, p.context).keep().setStorageRole('optimizerState');
      this.state.set(p, { m, v, step: entry.step });
    }
    this.lrValue = lr;
    [this.beta1Value, this.beta2Value] = group.betas;
    this.epsValue = group.eps;
    this.weightDecayValue = group.weight_decay;
  }

  /** Frees the optimizer state (m and v); the next step starts it afresh. */
  dispose(): void {
    for (const s of this.state.values()) { s.m.dispose(); s.v.dispose(); }
    this.state.clear();
  }
}
