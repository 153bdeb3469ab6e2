// Reverse-mode backward over the tape. Nodes reachable from the root run in
// decreasing recording order; each node's incoming gradient is freed as soon
// as its backward ran, and (unless retainGraph) so are its saved tensors.
// Leaf gradients accumulate into `.grad` until zeroGrad.

import { accumulateInto, binary, cast, contiguousCopy, full } from '../tensor/kernel-ops.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { tidy } from '../tensor/scope.js';
import { isMemoryContextActive, withModuleContext, withOpContext } from '../tensor/memory-context.js';
import { Tensor as TensorClass, type Tensor } from '../tensor/tensor.js';
import { withPhase } from '../tensor/work-counter.js';
import { GradNode } from './grad-node.js';
import { noGrad } from './grad-mode.js';

export interface BackwardOptions {
  /** Keep saved tensors so backward can run through the graph again. */
  retainGraph?: boolean;
}

/** Collects every node reachable from root, sorted so consumers come before producers. */
function reachableNodes(root: GradNode): GradNode[] {
  const seen = new Set<GradNode>();
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    for (const e of node.edges) if (e && 'node' in e) stack.push(e.node);
  }
  return [...seen].sort((a, b) => b.sequence - a.sequence);
}

/** Adds g into a leaf's .grad, taking ownership of g's storage when nothing else uses it. */
function accumulateLeafGrad(leaf: Tensor, g: Tensor): void {
  if (leaf.isDisposed) return; // the parameter was thrown away; its gradient has nowhere to live
  if (leaf.grad) {
    accumulateInto(leaf.grad, g);
    return;
  }
  const exclusive = g.dtype === leaf.dtype && g.isDense && g.storage.handleRefs === 1 && g.storage.tapeRefs === 0 && g.storage.role === 'activation';
  const owned = exclusive ? g.view(g.shape, g.strides, 0) : g.dtype === leaf.dtype ? contiguousCopy(g) : cast(g, leaf.dtype);
  owned.keep();
  owned.setStorageRole('gradient');
  leaf.grad = owned;
}

function checkGrad(node: GradNode, i: number, g: Tensor): Tensor {
  if (!shapesEqual(g.shape, node.inputShapes[i])) {
    throw new Error(`backward of ${node.describe()}: gradient for input ${i} has shape ${formatShape(g.shape)}, expected ${formatShape(node.inputShapes[i])}`);
  }
  return g.dtype === node.inputDTypes[i] ? g : cast(g, node.inputDTypes[i]);
}

const BACKWARD_OPTION_KEYS: readonly (keyof BackwardOptions)[] = ['retainGraph'];

/**
 * Accepts `backward()`, `backward(gradOutput)`, `backward(gradOutput, options)`
 * and `backward(options)` (PyTorch's `backward(retain_graph=True)` habit), and
 * names whatever else was passed.
 */
function backwardArguments(gradOrOptions: unknown, maybeOptions: unknown): { gradOutput?: Tensor; options: BackwardOptions } {
  const isTensor = (v: unknown): v is Tensor => v instanceof TensorClass;
  const asOptions = (v: unknown, where: string): BackwardOptions => {
    if (v === undefined) return {};
    if (v === null || typeof v !== 'object' || Array.isArray(v) || isTensor(v)) {
      throw new Error(`backward: ${where} must be an options object like { retainGraph: true }, got ${isTensor(v) ? v.describe() : String(v)}`);
    }
    const unknown = Object.keys(v).filter((k) => !(BACKWARD_OPTION_KEYS as readonly string[]).includes(k));
    if (unknown.length > 0) throw new Error(`backward: unknown option(s) ${unknown.join(', ')}; known: ${BACKWARD_OPTION_KEYS.join(', ')}`);
    const { retainGraph } = v as BackwardOptions;
    if (retainGraph !== undefined && typeof retainGraph !== 'boolean') throw new Error(`backward: retainGraph must be a boolean, got ${String(retainGraph)}`);
    return v as BackwardOptions;
  };
  if (gradOrOptions === undefined || gradOrOptions === null) return { options: asOptions(maybeOptions, 'the second argument') };
  if (isTensor(gradOrOptions)) return { gradOutput: gradOrOptions, options: asOptions(maybeOptions, 'the second argument') };
  if (maybeOptions !== undefined) throw new Error(`backward: the first argument must be the gradient tensor when options follow it, got ${String(gradOrOptions)}`);
  return { options: asOptions(gradOrOptions, 'the first argument (a gradient Tensor or an options object)') };
}

export function backward(root: Tensor, gradOrOptions?: Tensor | BackwardOptions, maybeOptions?: BackwardOptions): void {
  const { gradOutput, options } = backwardArguments(gradOrOptions, maybeOptions);
  root.assertAlive('backward');
  if (!root.requiresGrad) {
    throw new Error(`backward: tensor ${root.describe()} does not require grad (no input of the ops that made it has requiresGrad set)`);
  }
  if (!gradOutput && root.numel !== 1) {
    throw new Error(`backward: a gradient can be created implicitly only for a one-element output; ${root.describe()} needs backward(gradOutput)`);
  }
  if (gradOutput && !shapesEqual(gradOutput.shape, root.shape)) {
    throw new Error(`backward: gradOutput ${gradOutput.describe()} does not match the output ${root.describe()}`);
  }
  withPhase('backward', () => noGrad(() => tidy(() => {
    const seed = gradOutput ? gradOutput.view(gradOutput.shape, gradOutput.strides, gradOutput.offset) : full(root.shape, 1, root.dtype, root.context);
    const rootNode = root.gradFn;
    if (!(rootNode instanceof GradNode)) {
      accumulateLeafGrad(root, seed);
      return;
    }
    const pending = new Map<GradNode, Tensor>([[rootNode, seed]]);
    for (const node of reachableNodes(rootNode)) {
      const g = pending.get(node);
      if (!g) continue;
      pending.delete(node);
      const runNode = () => {
        const inputGrads = tidy(() => {
          const saved = node.unpackSaved();
          const grads = node.op.backward(g, saved, node.state, node.needsGrad, node.attrs);
          for (const s of saved) s.dispose();
          // Distinct handles per input, so one input's grad can't be stolen from under another.
          return grads.map((x, i) => (x && node.edges[i] ? checkGrad(node, i, x).view(x.shape, x.strides, x.offset) : null));
        });
        g.dispose();
        if (!options.retainGraph) node.freeSaved();
        node.edges.forEach((edge, i) => {
          const gi = inputGrads[i];
          if (!gi) return;
          if (!edge) { gi.dispose(); return; }
          if ('leaf' in edge) {
            accumulateLeafGrad(edge.leaf, gi);
            gi.dispose();
            return;
          }
          const existing = pending.get(edge.node);
          if (!existing) { pending.set(edge.node, gi); return; }
          pending.set(edge.node, binary('add', existing, gi));
          existing.dispose();
          gi.dispose();
        });
      };
      // A recording memory timeline attributes the node's backward to its op and to the module whose forward made it.
      if (isMemoryContextActive()) withModuleContext(node.modulePath, () => withOpContext(node.opName, runNode));
      else runNode();
    }
    for (const g of pending.values()) g.dispose();
  })));
}
