// Dynamic loss scaling for mixed precision: PyTorch's torch.cuda.amp.GradScaler
// (1.13, torch/cuda/amp/grad_scaler.py) with its defaults, state machine,
// error messages and state-dict keys.
//
// Per optimizer and iteration the stage goes ready -> unscaled -> stepped;
// update() ends the iteration for every optimizer. The unscale and the
// inf/NaN check run on the device in the fused unscaleGrads kernel, every
// gradient of one optimizer reporting into one f32 found-inf flag per device,
// so deciding whether to step costs exactly one readback (PyTorch's
// found_inf.item()). The flag is a 4-byte temporary in the memory ledger:
// allocated by unscale(), freed as soon as it has been read, so the steady
// state (parameters + gradients + optimizer state) is unchanged.
//
// Where the scale lives: PyTorch keeps scale and growth tracker in device
// tensors so update() never waits for the GPU. Here they live on the host,
// as numbers rounded to f32 exactly as PyTorch's float32 tensor would be
// (Math.fround), because (1) step() has already read the found-inf flag, so
// update() needs no device value and costs nothing, and (2) our kernels take
// the scale as a scalar attribute (mulScalar, unscaleGrads), not a buffer.
// The result: one readback per step, none in scale(), unscale() or update().

import { noGrad } from '../autograd/grad-mode.js';
import { cast, mul } from '../autograd/functional.js';
import type { DeviceContext } from '../tensor/device-context.js';
import { unscaleGrads } from '../tensor/fused-ops.js';
import { full } from '../tensor/kernel-ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { withPhase } from '../tensor/work-counter.js';

/** What the scaler needs from an optimizer: its parameters (whose grads it unscales) and step(). AdamW fits. */
export interface GradScalerOptimizer {
  readonly parameters: readonly Tensor[];
  step(): void;
}

export interface GradScalerOptions {
  /** Initial scale (default 2^16). */
  initScale?: number;
  /** Multiplier after growthInterval consecutive finite steps (default 2; must be > 1). */
  growthFactor?: number;
  /** Multiplier after a step with inf/NaN gradients (default 0.5; must be in (0, 1)). */
  backoffFactor?: number;
  /** Consecutive finite steps before the scale grows (default 2000). */
  growthInterval?: number;
  /** false: scale() returns its input, step() just steps, the rest are no-ops (default true). */
  enabled?: boolean;
}

/** PyTorch's GradScaler.state_dict() keys. */
export interface GradScalerStateDict {
  scale: number;
  growth_factor: number;
  backoff_factor: number;
  growth_interval: number;
  _growth_tracker: number;
}

type Stage = 'ready' | 'unscaled' | 'stepping' | 'stepped';

interface OptimizerRecord {
  stage: Stage;
  /** One flag per device that held a gradient; empty when no parameter had one. */
  flags: Map<DeviceContext, Tensor>;
  /** The flags' combined value once read (null before). */
  foundInf: boolean | null;
  /** The readback in flight, shared by step() and update(). */
  reading: Promise<boolean> | null;
}

const SCALE_FIX = 'This may indicate your script did not use scaler.scale(loss or outputs) earlier in the iteration.';

function checkFactors(growthFactor: number, backoffFactor: number, growthInterval: number): void {
  if (!(growthFactor > 1) || !Number.isFinite(growthFactor)) throw new Error(`GradScaler: The growth factor must be > 1.0 (a finite number); got growthFactor=${growthFactor}`);
  if (!(backoffFactor < 1 && backoffFactor > 0)) throw new Error(`GradScaler: The backoff factor must be < 1.0 (and > 0); got backoffFactor=${backoffFactor}`);
  if (!Number.isInteger(growthInterval) || growthInterval < 1) throw new Error(`GradScaler: growthInterval must be a positive integer; got ${growthInterval}`);
}

function checkScale(what: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value > 0)) throw new Error(`GradScaler: ${what} must be a finite number > 0; got ${value}`);
}

export class GradScaler {
  private readonly enabled: boolean;
  private initScale: number;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private initGrowthTracker = 0;
  /** The f32 scale; null until the first scale(), as PyTorch's lazily created tensor. */
  private scaleValue: number | null = null;
  private growthTracker: number | null = null;
  private records = new Map<GradScalerOptimizer, OptimizerRecord>();
  private updating = false;
  private readbacks = 0;

  constructor(options: GradScalerOptions = {}) {
    this.enabled = options.enabled ?? true;
    this.initScale = options.initScale ?? 2 ** 16;
    this.growthFactor = options.growthFactor ?? 2.0;
    this.backoffFactor = options.backoffFactor ?? 0.5;
    this.growthInterval = options.growthInterval ?? 2000;
    if (this.enabled) {
      checkScale('initScale', this.initScale);
      checkFactors(this.growthFactor, this.backoffFactor, this.growthInterval);
    }
  }

  isEnabled(): boolean { return this.enabled; }

  /** The current scale (the initial one before the first scale()), or 1 when disabled. */
  getScale(): number {
    if (!this.enabled) return 1.0;
    return this.scaleValue ?? this.initScale;
  }

  getGrowthFactor(): number { return this.growthFactor; }
  setGrowthFactor(value: number): void { checkFactors(value, this.backoffFactor, this.growthInterval); this.growthFactor = value; }
  getBackoffFactor(): number { return this.backoffFactor; }
  setBackoffFactor(value: number): void { checkFactors(this.growthFactor, value, this.growthInterval); this.backoffFactor = value; }
  getGrowthInterval(): number { return this.growthInterval; }
  setGrowthInterval(value: number): void { checkFactors(this.growthFactor, this.backoffFactor, value); this.growthInterval = value; }

  /** Device reads this scaler has made (one per optimizer and device per iteration). */
  get readbackCount(): number { return this.readbacks; }

  /**
   * loss x scale, through autograd, so backward() produces scaled gradients.
   * An f16 loss is promoted to f32 first, as PyTorch's multiplication by its
   * f32 scale tensor does (65536 x a loss of 1 already overflows f16).
   */
  scale(loss: Tensor): Tensor {
    if (!this.enabled) return loss;
    this.assertNotUpdating('scale');
    if (this.scaleValue === null) {
      this.scaleValue = Math.fround(this.initScale);
      this.growthTracker = this.initGrowthTracker;
    }
    return mul(loss.dtype === 'f16' ? cast(loss, 'f32') : loss, this.scaleValue);
  }

  /**
   * PyTorch's unscale_(): multiplies the optimizer's gradients by 1/scale in
   * place and records on the device whether any was inf or NaN. Optional
   * (step() does it), useful to clip or inspect true gradients. Once per
   * optimizer per iteration, and not after step().
   */
  unscale(optimizer: GradScalerOptimizer): void {
    if (!this.enabled) return;
    this.assertNotUpdating('unscale');
    const scale = this.checkInitialized('unscale_');
    const record = this.recordOf(optimizer);
    if (record.stage === 'unscaled') throw new Error('GradScaler: unscale_() has already been called on this optimizer since the last update().');
    if (record.stage === 'stepping' || record.stage === 'stepped') throw new Error('GradScaler: unscale_() is being called after step().');

    const grads = optimizer.parameters.flatMap((p) => (p.grad ? [[p, p.grad] as const] : []));
    // PyTorch refuses before touching any gradient: unscaled f16 grads would underflow.
    for (const [p, g] of grads) {
      if (g.dtype === 'f16') throw new Error(`GradScaler: Attempting to unscale FP16 gradients (parameter ${p.describe()} has an f16 grad; keep trainable weights in f32).`);
    }
    // FP32 division can be imprecise, so PyTorch takes the reciprocal in f64 and rounds it to f32.
    const invScale = Math.fround(1 / scale);
    withPhase('optimizer', () => noGrad(() => {
      for (const [, g] of grads) {
        let flag = record.flags.get(g.context);
        if (!flag) record.flags.set(g.context, (flag = full([1], 0, 'f32', g.context).keep()));
        unscaleGrads(g, invScale, flag);
      }
    }));
    record.stage = 'unscaled';
  }

  /**
   * Unscales (unless unscale() ran this iteration), then runs optimizer.step()
   * only if every gradient was finite. Resolves to whether it stepped. Costs
   * one readback of the found-inf flag.
   */
  async step(optimizer: GradScalerOptimizer): Promise<boolean> {
    if (!this.enabled) {
      optimizer.step();
      return true;
    }
    this.assertNotUpdating('step');
    this.checkInitialized('step');
    const record = this.recordOf(optimizer);
    if (record.stage === 'stepping' || record.stage === 'stepped') throw new Error('GradScaler: step() has already been called since the last update().');
    if (record.stage === 'ready') this.unscale(optimizer);
    if (record.flags.size === 0) throw new Error('GradScaler: No inf checks were recorded for this optimizer (none of its parameters has a gradient).');
    record.stage = 'stepping';
    try {
      const foundInf = await this.readFoundInf(record);
      if (!foundInf) optimizer.step();
      return !foundInf;
    } finally {
      record.stage = 'stepped';
    }
  }

  /**
   * Ends the iteration. Without an argument: if any optimizer saw inf/NaN the
   * scale is multiplied by backoffFactor and the growth tracker resets; else
   * the tracker counts one more finite step and at growthInterval the scale is
   * multiplied by growthFactor (unless that overflows f32) and the tracker
   * resets. With newScale: the scale is set to it and the tracker is kept.
   * Async only because an optimizer that was unscaled but not stepped still
   * has its flag on the device; after step() it resolves without a readback.
   */
  async update(newScale?: number): Promise<void> {
    if (!this.enabled) return;
    this.assertNotUpdating('update');
    this.checkInitialized('update');
    for (const record of this.records.values()) {
      if (record.stage === 'stepping') throw new Error('GradScaler: update() called while step() is still running; await step() first.');
    }
    if (newScale !== undefined) {
      checkScale('update(newScale): newScale', newScale);
      this.scaleValue = Math.fround(newScale);
      this.endIteration();
      return;
    }
    const checked = [...this.records.values()].filter((r) => r.flags.size > 0 || r.foundInf !== null || r.reading !== null);
    if (checked.length === 0) throw new Error('GradScaler: No inf checks were recorded prior to update() (call step() or unscale() first).');
    if (checked.every((r) => r.foundInf !== null)) {
      // The usual path (after step()): every flag is already on the host, so the update applies now.
      this.applyUpdate(checked.some((r) => r.foundInf));
      this.endIteration();
      return;
    }
    this.updating = true;
    try {
      const found = await Promise.all(checked.map((r) => this.readFoundInf(r)));
      this.applyUpdate(found.some((f) => f));
    } finally {
      this.updating = false;
      this.endIteration();
    }
  }

  /** PyTorch's state_dict(): {} when disabled. Call it after update(). */
  stateDict(): GradScalerStateDict | Record<string, never> {
    if (!this.enabled) return {};
    return {
      scale: this.getScale(),
      growth_factor: this.growthFactor,
      backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval,
      _growth_tracker: this.growthTracker ?? this.initGrowthTracker,
    };
  }

  /** PyTorch's load_state_dict(); a no-op when disabled. */
  loadStateDict(state: GradScalerStateDict | Record<string, never>): void {
    if (!this.enabled) return;
    this.assertNotUpdating('loadStateDict');
    if (!state || Object.keys(state).length === 0) {
      throw new Error('GradScaler.loadStateDict: The source state dict is empty, possibly because it was saved from a disabled instance of GradScaler.');
    }
    const s = state as GradScalerStateDict;
    for (const key of ['scale', 'growth_factor', 'backoff_factor', 'growth_interval', '_growth_tracker'] as const) {
      if (typeof s[key] !== 'number') throw new Error(`GradScaler.loadStateDict: field ${key} must be a number, got ${JSON.stringify(s[key])}`);
    }
    checkScale('loadStateDict: scale', s.scale);
    checkFactors(s.growth_factor, s.backoff_factor, s.growth_interval);
    if (!Number.isInteger(s._growth_tracker) || s._growth_tracker < 0) throw new Error(`GradScaler.loadStateDict: _growth_tracker must be an integer >= 0, got ${s._growth_tracker}`);
    this.initScale = s.scale;
    if (this.scaleValue !== null) this.scaleValue = Math.fround(s.scale);
    this.growthFactor = s.growth_factor;
    this.backoffFactor = s.backoff_factor;
    this.growthInterval = s.growth_interval;
    this.initGrowthTracker = s._growth_tracker;
    if (this.growthTracker !== null) this.growthTracker = s._growth_tracker;
  }

  /** Frees any found-inf flag not yet read. */
  dispose(): void {
    this.endIteration();
  }

  // torch._amp_update_scale_ (aten/src/ATen/native/cuda/AmpKernels.cu), on the host in f32.
  private applyUpdate(foundInf: boolean): void {
    const scale = this.scaleValue as number;
    if (foundInf) {
      this.scaleValue = Math.fround(scale * this.backoffFactor);
      this.growthTracker = 0;
      return;
    }
    const successful = (this.growthTracker as number) + 1;
    if (successful === this.growthInterval) {
      const grown = Math.fround(scale * this.growthFactor);
      // Do not grow the scale past f32's range to inf.
      if (Number.isFinite(grown)) this.scaleValue = grown;
      this.growthTracker = 0;
    } else {
      this.growthTracker = successful;
    }
  }

  /** Reads one optimizer's flags (one readback per device, once per iteration) and frees them. */
  private readFoundInf(record: OptimizerRecord): Promise<boolean> {
    if (record.foundInf !== null) return Promise.resolve(record.foundInf);
    if (!record.reading) {
      const flags = [...record.flags.values()];
      record.flags = new Map();
      this.readbacks += flags.length;
      // Every read is enqueued before any await.
      const reads = flags.map((f) => f.item());
      record.reading = Promise.all(reads)
        .then((values) => (record.foundInf = values.some((v) => v !== 0)))
        .finally(() => { for (const f of flags) f.dispose(); });
    }
    return record.reading;
  }

  private endIteration(): void {
    for (const record of this.records.values()) {
      for (const f of record.flags.values()) f.dispose();
    }
    this.records = new Map();
  }

  private recordOf(optimizer: GradScalerOptimizer): OptimizerRecord {
    let record = this.records.get(optimizer);
    if (!record) this.records.set(optimizer, (record = { stage: 'ready', flags: new Map(), foundInf: null, reading: null }));
    return record;
  }

  private checkInitialized(funcName: string): number {
    if (this.scaleValue === null) throw new Error(`GradScaler: Attempted ${funcName} but _scale is None.  ${SCALE_FIX}`);
    return this.scaleValue;
  }

  private assertNotUpdating(what: string): void {
    if (this.updating) throw new Error(`GradScaler.${what}: update() is still reading found-inf flags; await it first.`);
  }
}
