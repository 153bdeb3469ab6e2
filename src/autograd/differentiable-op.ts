// One definition per differentiable op: its forward (built from kernel ops),
// the explicit list of tensors it saves for backward, and its backward. The
// registry lists every op so tests can check each one has a gradcheck.

import type { Tensor } from '../tensor/tensor.js';

export interface ForwardResult<S> {
  readonly output: Tensor;
  /** Exactly the tensors backward needs; the tape holds them until that backward ran. */
  readonly saved?: readonly Tensor[];
  /** Non-tensor facts backward needs (shapes, RNG offsets, ...). */
  readonly state?: S;
}

export interface DifferentiableOp<A = void, S = void> {
  readonly name: string;
  /** What the op saves, in words (shown by docs and memory explanations). */
  readonly saves: string;
  /**
   * Computes the output with kernel ops. `needsGrad[i]` says whether input i
   * will receive a gradient, so the op saves only what those gradients need.
   */
  forward(inputs: readonly Tensor[], attrs: A, needsGrad: readonly boolean[]): ForwardResult<S>;
  /** Gradients for each input (null where not needed), given the output's gradient. */
  backward(grad: Tensor, saved: readonly Tensor[], state: S, needsGrad: readonly boolean[], attrs: A): (Tensor | null)[];
}

const registry = new Map<string, DifferentiableOp<any, any>>();

export function defineOp<A = void, S = void>(op: DifferentiableOp<A, S>): DifferentiableOp<A, S> {
  if (registry.has(op.name)) throw new Error(`differentiable op '${op.name}' is defined twice`);
  registry.set(op.name, op);
  return op;
}

export function registeredOps(): DifferentiableOp<any, any>[] {
  return [...registry.values()];
}
