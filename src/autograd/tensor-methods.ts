// Method-style access to the differentiable functions (x.matmul(w).add(b)).
// Attached to Tensor's prototype here so the tensor layer never imports
// autograd; importing src/index.ts installs them.

import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { backward, type BackwardOptions } from './backward.js';
import * as F from './functional.js';

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(other: F.Operand): Tensor;
    sub(other: F.Operand): Tensor;
    mul(other: F.Operand): Tensor;
    div(other: F.Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    pow(exponent: number): Tensor;
    sigmoid(): Tensor;
    silu(): Tensor;
    relu(): Tensor;
    sum(axes?: number | readonly number[], keepDim?: boolean): Tensor;
    mean(axes?: number | readonly number[], keepDim?: boolean): Tensor;
    max(axes?: number | readonly number[], keepDim?: boolean): Tensor;
    matmul(other: Tensor): Tensor;
    reshape(shape: readonly number[]): Tensor;
    permute(perm: readonly number[]): Tensor;
    transpose(a: number, b: number): Tensor;
    expand(shape: readonly number[]): Tensor;
    slice(axis: number, start: number, end?: number, step?: number): Tensor;
    unsqueeze(axis: number): Tensor;
    squeeze(axis: number): Tensor;
    flatten(): Tensor;
    contiguous(): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
    cast(dtype: DType): Tensor;
    /** backward(), backward(gradOutput), backward(gradOutput, options) or backward({ retainGraph: true }). */
    backward(gradOrOptions?: Tensor | BackwardOptions, options?: BackwardOptions): void;
  }
}

const methods: Record<string, (this: Tensor, ...args: any[]) => unknown> = {
  add(o) { return F.add(this, o); },
  sub(o) { return F.sub(this, o); },
  mul(o) { return F.mul(this, o); },
  div(o) { return F.div(this, o); },
  neg() { return F.neg(this); },
  exp() { return F.exp(this); },
  log() { return F.log(this); },
  sqrt() { return F.sqrt(this); },
  rsqrt() { return F.rsqrt(this); },
  pow(e) { return F.pow(this, e); },
  sigmoid() { return F.sigmoid(this); },
  silu() { return F.silu(this); },
  relu() { return F.relu(this); },
  sum(axes, keepDim) { return F.sum(this, axes, keepDim); },
  mean(axes, keepDim) { return F.mean(this, axes, keepDim); },
  max(axes, keepDim) { return F.max(this, axes, keepDim); },
  matmul(o) { return F.matmul(this, o); },
  reshape(shape) { return F.reshape(this, shape); },
  permute(perm) { return F.permute(this, perm); },
  transpose(a, b) { return F.transpose(this, a, b); },
  expand(shape) { return F.expand(this, shape); },
  slice(axis, start, end, step) { return F.slice(this, axis, start, end, step); },
  unsqueeze(axis) { return F.unsqueeze(this, axis); },
  squeeze(axis) { return F.squeeze(this, axis); },
  flatten() { return F.flatten(this); },
  contiguous() { return F.contiguous(this); },
  softmax(axis) { return F.softmax(this, axis); },
  logSoftmax(axis) { return F.logSoftmax(this, axis); },
  cast(dtype) { return F.cast(this, dtype); },
  backward(gradOutput, options) { backward(this, gradOutput, options); },
};

for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, name, { value: fn, writable: true, configurable: true });
}
