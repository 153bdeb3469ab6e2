// A model of PyTorch 1.13's GradScaler for one optimizer, written from its
// source rather than from gradlab's implementation (PyTorch's own functions
// need CUDA, so they cannot produce goldens on this machine):
//
// - torch/cuda/amp/grad_scaler.py: the stages READY -> UNSCALED -> STEPPED
//   per optimizer and their RuntimeErrors; scale and growth tracker created
//   lazily by the first scale() (before that get_scale() returns init_scale
//   as given, and unscale_/step/update assert "_scale is None");
//   inv_scale = scale.double().reciprocal().float(); step() skips
//   optimizer.step() when found_inf; update(new_scale) fills the scale and
//   leaves the tracker; state_dict() keys; load_state_dict() sets
//   _init_scale / _init_growth_tracker and fills the live tensors if they exist.
// - aten/src/ATen/native/cuda/AmpKernels.cu, _amp_update_scale_cuda_kernel:
//   found_inf: scale *= backoff, tracker = 0; else successful = tracker + 1,
//   if successful == growth_interval: new = float(scale * growth), applied only
//   if finite, tracker = 0; else tracker = successful.
// - _amp_foreach_non_finite_check_and_unscale_: found_inf = 1 if any grad is
//   non-finite; every grad becomes float(grad * inv_scale).
//
// The scale is a float32 tensor and the tracker an int32 tensor in PyTorch;
// here they are a Float32Array and an Int32Array of one element, so every
// store rounds as the device would.

export type Stage = 'READY' | 'UNSCALED' | 'STEPPED';

export interface ModelConfig { initScale: number; growthFactor: number; backoffFactor: number; growthInterval: number }

export class PyTorchGradScalerModel {
  private initScale: number;
  private initTracker = 0;
  private scaleT: Float32Array | null = null;
  private trackerT: Int32Array | null = null;
  private stage: Stage = 'READY';
  /** found_inf_per_device for our one optimizer: undefined until unscale_ ran with at least one grad. */
  private foundInf: number | undefined;
  growthFactor: number;
  backoffFactor: number;
  growthInterval: number;

  constructor(c: ModelConfig) {
    this.initScale = c.initScale;
    this.growthFactor = c.growthFactor;
    this.backoffFactor = c.backoffFactor;
    this.growthInterval = c.growthInterval;
  }

  private check(funcname: string): Float32Array {
    if (!this.scaleT) throw new Error(`Attempted ${funcname} but _scale is None.`);
    return this.scaleT;
  }

  /** scale(outputs): the factor the loss is multiplied by. */
  scale(): number {
    if (!this.scaleT) {
      this.scaleT = Float32Array.of(this.initScale);
      this.trackerT = Int32Array.of(this.initTracker);
    }
    return this.scaleT[0];
  }

  /** unscale_(optimizer); returns inv_scale (f32) for checking the grads. */
  unscale(hasGrads: boolean, anyNonFinite: boolean): number {
    const scale = this.check('unscale_');
    if (this.stage === 'UNSCALED') throw new Error('unscale_() has already been called on this optimizer since the last update().');
    if (this.stage === 'STEPPED') throw new Error('unscale_() is being called after step().');
    const inv = Float32Array.of(1 / scale[0])[0];
    this.foundInf = hasGrads ? (anyNonFinite ? 1 : 0) : undefined;
    this.stage = 'UNSCALED';
    return inv;
  }

  /** step(optimizer); returns whether optimizer.step() ran. */
  step(hasGrads: boolean, anyNonFinite: boolean): boolean {
    this.check('step');
    if (this.stage === 'STEPPED') throw new Error('step() has already been called since the last update().');
    if (this.stage === 'READY') this.unscale(hasGrads, anyNonFinite);
    if (this.foundInf === undefined) throw new Error('No inf checks were recorded for this optimizer.');
    const stepped = !this.foundInf;
    this.stage = 'STEPPED';
    return stepped;
  }

  update(newScale?: number): void {
    const scale = this.check('update');
    const tracker = this.trackerT as Int32Array;
    if (newScale !== undefined) {
      scale[0] = newScale;
    } else {
      if (this.foundInf === undefined) throw new Error('No inf checks were recorded prior to update.');
      if (this.foundInf) {
        scale[0] = scale[0] * this.backoffFactor;
        tracker[0] = 0;
      } else {
        const successful = tracker[0] + 1;
        if (successful === this.growthInterval) {
          const grown = Float32Array.of(scale[0] * this.growthFactor)[0];
          if (Number.isFinite(grown)) scale[0] = grown;
          tracker[0] = 0;
        } else {
          tracker[0] = successful;
        }
      }
    }
    this.stage = 'READY';
    this.foundInf = undefined;
  }

  getScale(): number {
    return this.scaleT ? this.scaleT[0] : this.initScale;
  }

  stateDict() {
    return {
      scale: this.getScale(),
      growth_factor: this.growthFactor,
      backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval,
      _growth_tracker: this.trackerT ? this.trackerT[0] : this.initTracker,
    };
  }

  loadStateDict(s: ReturnType<PyTorchGradScalerModel['stateDict']>): void {
    this.initScale = s.scale;
    if (this.scaleT) this.scaleT[0] = s.scale;
    this.growthFactor = s.growth_factor;
    this.backoffFactor = s.backoff_factor;
    this.growthInterval = s.growth_interval;
    this.initTracker = s._growth_tracker;
    if (this.trackerT) this.trackerT[0] = s._growth_tracker;
  }
}
