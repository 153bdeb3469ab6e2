// AdamW with PyTorch's defaults and update order (decoupled weight decay, bias
// correction). State m and v (same dtype as the parameter) exist only for
// parameters that require grad, are created on the first step, and are
// ledgered as optimizer state. The update runs in one fused kernel per
// parameter, in place, attributed to the 'optimizer' phase.

import { noGrad } from '../autograd/grad-mode.js';
import { adamwUpdate } from '../tensor/fused-ops.js';
import { full } from '../tensor/kernel-ops.js';
import type { Tensor } from '../tensor/tensor.js';
import { withPhase } from '../tensor/work-counter.js';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

interface ParamState { m: Tensor; v: Tensor; step: number }

export class AdamW {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly params: Tensor[];
  private readonly state = new Map<Tensor, ParamState>();

  constructor(params: Iterable<Tensor>, options: AdamWOptions = {}) {
    this.params = [...params];
    this.lr = options.lr ?? 1e-3;
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 1e-2;
    for (const p of this.params) {
      if (!p.isDense) throw new Error(`AdamW: parameter ${p.describe()} must be a dense tensor`);
    }
  }

  /** One update of every parameter that has a gradient (others are skipped, as in PyTorch). */
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
        adamwUpdate(p, p.grad, s.m, s.v, { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay, step: s.step });
      }
    }));
  }

  /** Frees every parameter's .grad (set_to_none, PyTorch's default). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Bytes of optimizer state (m and v). */
  get stateBytes(): number {
    let total = 0;
    for (const s of this.state.values()) total += s.m.bytes + s.v.bytes;
    return total;
  }

  dispose(): void {
    for (const s of this.state.values()) { s.m.dispose(); s.v.dispose(); }
    this.state.clear();
  }
}
