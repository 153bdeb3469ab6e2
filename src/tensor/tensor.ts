// The Tensor handle: a view (shape, strides, offset) onto reference-counted
// storage, plus autograd bookkeeping. Op methods (add, matmul, ...) are
// attached by the autograd layer (src/autograd/tensor-methods.ts); this file
// holds only what every layer needs.

import type { StridedInput } from '../backends/backend.js';
import { isFloatDType, type DType } from './dtype.js';
import { decodeF16Array } from './f16.js';
import { readDense } from './readback.js';
import type { DeviceContext } from './device-context.js';
import { trackInScope, untrack, type Disposable } from './scope.js';
import { contiguousStrides, formatShape, isContiguous, numel as numelOf } from './shape.js';
import type { Storage, StorageRole } from './storage.js';

/** Every storage role, for checking a role given at run time (the type check below keeps it complete). */
const STORAGE_ROLES = ['activation', 'parameter', 'gradient', 'optimizerState', 'autocastCopy'] as const satisfies readonly StorageRole[];
const everyRoleListed: Exclude<StorageRole, (typeof STORAGE_ROLES)[number]> extends never ? true : never = true;
void everyRoleListed;

/** What the tape hangs on an op's output; implemented by autograd's GradNode. */
export interface GradFnRef {
  readonly opName: string;
  retain(): void;
  release(): void;
}

/** Host values of a tensor: f16 is decoded to Float32Array; use rawData() for bit patterns. */
export type TensorValues = Float64Array | Float32Array | Int32Array;

let nextTensorId = 1;

export class Tensor implements Disposable {
  readonly id = nextTensorId++;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly storage: Storage;
  private requiresGradValue = false;
  /** The node that produced this tensor, or null for leaves and no-grad results. */
  gradFn: GradFnRef | null = null;
  /** Accumulated gradient of a leaf (storage role 'gradient'). */
  grad: Tensor | null = null;
  /** Optional name (parameters get their dotted path). */
  name?: string;
  private disposed = false;

  constructor(storage: Storage, shape: readonly number[], strides?: readonly number[], offset = 0, opts: { track?: boolean } = {}) {
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    storage.retainHandle();
    if (opts.track !== false) trackInScope(this);
  }

  /** Set by the user on leaves; set by the tape on outputs of ops that need grad. Float tensors only (as in PyTorch). */
  get requiresGrad(): boolean { return this.requiresGradValue; }
  set requiresGrad(value: boolean) {
    if (value && !isFloatDType(this.dtype)) {
      throw new Error(`requiresGrad: only float tensors can require gradients; ${this.describe()} is ${this.dtype} (cast it to a float dtype first)`);
    }
    this.requiresGradValue = value;
  }

  get dtype(): DType { return this.storage.dtype; }
  get numel(): number { return numelOf(this.shape); }
  get rank(): number { return this.shape.length; }
  get context(): DeviceContext { return this.storage.context; }
  get isDisposed(): boolean { return this.disposed; }
  get isContiguous(): boolean { return isContiguous(this.shape, this.strides); }
  /** True when the tensor is exactly its whole storage in row-major order. */
  get isDense(): boolean { return this.offset === 0 && this.isContiguous && this.numel === this.storage.numel; }
  get isLeaf(): boolean { return this.gradFn === null; }
  get bytes(): number { return this.storage.bytes; }

  /** Throws a clear error if the handle was disposed. */
  assertAlive(op: string): void {
    if (this.disposed) {
      throw new Error(`${op}: tensor ${this.describe()} was used after dispose()`);
    }
  }

  describe(): string {
    return `${this.name ? `'${this.name}' ` : ''}${formatShape(this.shape)} ${this.dtype}`;
  }

  /** This tensor as a kernel input. */
  stridedInput(): StridedInput {
    return { buffer: this.storage.buffer, offset: this.offset, strides: this.strides };
  }

  /** A new handle on the same storage with another layout (no autograd; the caller sets gradFn). */
  view(shape: readonly number[], strides: readonly number[], offset: number): Tensor {
    this.assertAlive('view');
    return new Tensor(this.storage, shape, strides, offset);
  }

  /** A new handle on the same data, cut from the graph. */
  detach(): Tensor {
    this.assertAlive('detach');
    return new Tensor(this.storage, this.shape, this.strides, this.offset);
  }

  /** Marks the storage's role in the memory ledger (parameters, optimizer state, ...). */
  setStorageRole(role: StorageRole, trainable = false): this {
    // An unknown role would put the bytes in no ledger row, so the rows would stop adding up to the total.
    if (!(STORAGE_ROLES as readonly string[]).includes(role)) {
      throw new Error(`setStorageRole: unknown role '${String(role)}'; expected one of ${STORAGE_ROLES.join(', ')}`);
    }
    if (typeof trainable !== 'boolean') throw new Error(`setStorageRole: trainable must be a boolean, got ${String(trainable)}`);
    this.assertAlive('setStorageRole');
    this.storage.setRole(role, trainable);
    return this;
  }

  /** Takes this handle out of every tidy scope. */
  keep(): this {
    untrack(this);
    return this;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    untrack(this);
    const fn = this.gradFn;
    this.gradFn = null;
    fn?.release();
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
    this.storage.releaseHandle();
  }

  /** Raw host data of a dense copy: f16 as Uint16Array bit patterns. */
  async rawData(): Promise<Float64Array | Float32Array | Uint16Array | Int32Array> {
    this.assertAlive('rawData');
    return readDense(this);
  }

  /** Host values (f16 decoded to Float32Array). Waits for the device. */
  async data(): Promise<TensorValues> {
    const raw = await this.rawData();
    return raw instanceof Uint16Array ? (decodeF16Array(raw) as Float32Array) : raw;
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.numel !== 1) throw new Error(`item: tensor ${this.describe()} has ${this.numel} elements; item() needs exactly one`);
    return (await this.data())[0];
  }

  /** Nested arrays in the tensor's shape. */
  async toArray(): Promise<unknown> {
    const values = Array.from(await this.data());
    const build = (dim: number, start: number): unknown => {
      if (dim === this.shape.length) return values[start];
      const inner = numelOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, start + i * inner));
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor(${this.describe()}${this.requiresGrad ? ', requiresGrad' : ''}${this.gradFn ? `, gradFn=${this.gradFn.opName}` : ''})`;
  }
}
