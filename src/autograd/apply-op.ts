// Applying a differentiable op: run its forward with recording off, and when
// any input needs a gradient, record a GradNode holding what the op saved.

import { sameContext } from '../tensor/kernel-ops.js';
import { currentModulePath, isMemoryContextActive, withOpContext } from '../tensor/memory-context.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DifferentiableOp } from './differentiable-op.js';
import { GradNode } from './grad-node.js';
import { isGradEnabled, noGrad } from './grad-mode.js';

export function applyOp<A, S>(op: DifferentiableOp<A, S>, inputs: readonly Tensor[], attrs: A): Tensor {
  sameContext(op.name, ...inputs);
  const recording = isGradEnabled();
  const needsGrad = inputs.map((t) => recording && t.requiresGrad);
  const anyGrad = needsGrad.some(Boolean);
  let node: GradNode | null = null;
  // The scope frees the op's intermediates; saved ones survive through the node's tape references.
  const run = () => tidy(() => {
    const result = noGrad(() => op.forward(inputs, attrs, needsGrad));
    if (inputs.includes(result.output)) throw new Error(`internal: op '${op.name}' returned one of its inputs; forward must return a new handle`);
    if (anyGrad) node = new GradNode(op, inputs, needsGrad, result.saved ?? [], result.state, attrs, result.output.shape);
    return result.output;
  });
  // A recording memory timeline attributes the op's allocations to it, and its backward to this module.
  const output = isMemoryContextActive() ? withOpContext(op.name, run) : run();
  if (node) {
    if (isMemoryContextActive()) (node as GradNode).modulePath = currentModulePath();
    (node as GradNode).retain();
    output.gradFn = node;
    output.requiresGrad = true;
  }
  return output;
}
