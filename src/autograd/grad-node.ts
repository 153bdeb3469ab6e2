// A node on the tape: one recorded op application. It holds its saved tensors
// (packed by the current saved-tensor hooks) and edges to the nodes or leaves
// of its inputs. Nodes are reference counted by the tensors they produced and
// by their child nodes, so an unused graph is freed the moment its last output
// handle goes, and a used one drops each op's saved tensors right after that
// op's backward ran.

import type { GradFnRef, Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import type { DType } from '../tensor/dtype.js';
import type { DifferentiableOp } from './differentiable-op.js';
import { currentSavedTensorHooks, type SavedTensorHooks } from './saved-tensor-hooks.js';

export type Edge = { readonly node: GradNode } | { readonly leaf: Tensor };

let nextSequence = 1;

export class GradNode implements GradFnRef {
  /** Recording order: processing nodes by decreasing sequence is a valid reverse topological order. */
  readonly sequence = nextSequence++;
  readonly edges: (Edge | null)[];
  readonly inputShapes: (readonly number[])[];
  readonly inputDTypes: DType[];
  private packed: unknown[];
  private readonly hooks: SavedTensorHooks;
  private refs = 0;
  private savedFreed = false;
  readonly hadSaved: boolean;
  /** The module whose forward made this node (set while a memory timeline records), so backward is attributed to it. */
  modulePath: string | null = null;

  constructor(
    readonly op: DifferentiableOp<any, any>,
    inputs: readonly Tensor[],
    readonly needsGrad: readonly boolean[],
    saved: readonly Tensor[],
    readonly state: unknown,
    readonly attrs: unknown,
    readonly outputShape: readonly number[],
  ) {
    this.edges = inputs.map((t, i) => {
      if (!needsGrad[i]) return null;
      const fn = t.gradFn;
      if (fn instanceof GradNode) {
        fn.retain();
        return { node: fn };
      }
      return { leaf: t };
    });
    this.inputShapes = inputs.map((t) => t.shape);
    this.inputDTypes = inputs.map((t) => t.dtype);
    this.hooks = currentSavedTensorHooks();
    this.packed = saved.map((t) => this.hooks.pack(t, op.name));
    this.hadSaved = saved.length > 0;
  }

  get opName(): string {
    return this.op.name;
  }

  describe(): string {
    return `'${this.op.name}' (output ${formatShape(this.outputShape)})`;
  }

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs > 0) return;
    this.freeSaved();
    for (const e of this.edges) if (e && 'node' in e) e.node.release();
  }

  /** Unpacks the saved tensors for backward; throws if a previous backward already freed them. */
  unpackSaved(): Tensor[] {
    if (this.savedFreed && this.hadSaved) {
      throw new Error(`backward: op ${this.describe()} already ran its backward and freed its saved tensors; pass { retainGraph: true } to the first backward() to go through the graph twice`);
    }
    return this.packed.map((p) => this.hooks.unpack(p));
  }

  freeSaved(): void {
    if (this.savedFreed) return;
    this.savedFreed = true;
    for (const p of this.packed) this.hooks.release(p);
    this.packed = [];
  }
}
