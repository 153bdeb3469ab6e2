// loralib's LoRA Linear: a frozen base projection plus a trainable low-rank
// update, y = x W^T (+ b) + (dropout(x) A^T B^T) * (alpha / r), with A (r, in)
// ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming-uniform, a = sqrt(5)) and B (out, r) = 0,
// so a fresh adapter leaves the model unchanged. Dropout acts on the LoRA
// branch only. With mergeWeights, eval() folds B A * scaling into W once
// (one matmul per call afterwards) and train() takes it out again.

import { accumulateInto } from '../tensor/kernel-ops.js';
import { add, dropout, linear, matmul, mul, neg } from '../autograd/functional.js';
import { noGrad } from '../autograd/grad-mode.js';
import { full } from '../tensor/creation.js';
import type { FloatDType } from '../tensor/dtype.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { kaimingUniformA5, type ParameterInit } from './init.js';
import { checkFeatures, type LinearLayer } from './linear.js';
import { Module } from './module.js';

export interface LoRAOptions {
  /** Rank (loralib's r); a positive integer. */
  r: number;
  /** loralib's lora_alpha; scaling = alpha / r. */
  alpha: number;
  /** Dropout probability on the LoRA branch's input (training mode only). */
  dropout: number;
  /** Merge B A * scaling into W on eval(), unmerge on train(). */
  mergeWeights: boolean;
}

export function validateLoRAOptions(o: LoRAOptions, where: string): void {
  if (!Number.isInteger(o.r) || o.r < 1) throw new Error(`${where}: LoRA rank r must be a positive integer, got ${o.r}`);
  if (!Number.isFinite(o.alpha)) throw new Error(`${where}: LoRA alpha must be a finite number, got ${o.alpha}`);
  if (!(o.dropout >= 0 && o.dropout < 1)) throw new Error(`${where}: LoRA dropout must be in [0, 1), got ${o.dropout}`);
}

export class LoRALinear extends Module implements LinearLayer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly lora_A: Tensor;
  readonly lora_B: Tensor;
  readonly r: number;
  readonly alpha: number;
  readonly scaling: number;
  readonly dropoutP: number;
  readonly mergeWeights: boolean;
  private mergedValue = false;

  /**
   * Wraps an existing base weight (out, in) (and bias), which is frozen as in
   * loralib; the LoRA factors are new parameters of the weight's dtype.
   */
  constructor(base: { weight: Tensor; bias?: Tensor | null }, options: LoRAOptions, init: ParameterInit = 'default') {
    super();
    validateLoRAOptions(options, 'LoRALinear');
    if (base.weight.rank !== 2) throw new Error(`LoRALinear: base weight must be (out, in), got ${base.weight.describe()}`);
    const [out, inF] = base.weight.shape;
    const dtype = base.weight.dtype as FloatDType;
    this.r = options.r;
    this.alpha = options.alpha;
    this.scaling = options.alpha / options.r;
    this.dropoutP = options.dropout;
    this.mergeWeights = options.mergeWeights;
    this.weight = this.registerParameter('weight', base.weight, false);
    this.bias = base.bias ? this.registerParameter('bias', base.bias, base.bias.requiresGrad) : null;
    this.lora_A = this.registerParameter('lora_A', kaimingUniformA5([options.r, inF], inF, dtype, init));
    this.lora_B = this.registerParameter('lora_B', full([out, options.r], 0, { dtype }));
  }

  get inFeatures(): number { return this.weight.shape[1]; }
  get outFeatures(): number { return this.weight.shape[0]; }
  /** True while B A * scaling is folded into the weight. */
  get merged(): boolean { return this.mergedValue; }

  forward(x: Tensor): Tensor {
    checkFeatures(this, x);
    return this.runForward([x], () => {
      let y = linear(x, this.weight);
      if (this.bias) y = add(y, this.bias);
      if (this.mergedValue) return y;
      const dropped = dropout(x, this.dropoutP, this.training);
      // loralib's order: ((dropout(x) @ A^T) @ B^T) * scaling
      const update = mul(linear(linear(dropped, this.lora_A), this.lora_B), this.scaling);
      return add(y, update);
    });
  }

  protected override onTrain(training: boolean): void {
    if (!this.mergeWeights) return;
    if (training && this.mergedValue) {
      this.foldIntoWeight(-1);
      this.mergedValue = false;
    } else if (!training && !this.mergedValue) {
      this.foldIntoWeight(+1);
      this.mergedValue = true;
    }
  }

  /** Merges now (W += B A * scaling) regardless of mergeWeights, e.g. to export a plain model. */
  merge(): void {
    if (this.mergedValue) throw new Error('LoRALinear.merge: already merged');
    this.foldIntoWeight(+1);
    this.mergedValue = true;
  }

  unmerge(): void {
    if (!this.mergedValue) throw new Error('LoRALinear.unmerge: not merged');
    this.foldIntoWeight(-1);
    this.mergedValue = false;
  }

  /** W += sign * (B @ A) * scaling, in place (the weight's version bumps, so a stale saved W is caught). */
  private foldIntoWeight(sign: 1 | -1): void {
    noGrad(() => tidy(() => {
      const delta = mul(matmul(this.lora_B, this.lora_A), this.scaling);
      accumulateInto(this.weight, sign > 0 ? delta : neg(delta));
    }));
  }
}
