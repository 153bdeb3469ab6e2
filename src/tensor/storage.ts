// Reference-counted device storage. Handles (Tensor objects, views included)
// and the tape's saved-tensor slots hold references; the buffer is freed the
// moment the last one goes, never by the garbage collector. Each storage's
// bytes sit in exactly one ledger category, derived from its role.

import type { BackendBuffer } from '../backends/backend.js';
import type { DType } from './dtype.js';
import { bytesPerElement } from './dtype.js';
import type { DeviceContext } from './device-context.js';
import type { MemoryCategory } from './memory-ledger.js';

/**
 * What a storage is for. 'activation' storages are temporaries, or saved
 * activations while the tape holds them. The other roles are set explicitly.
 */
export type StorageRole = 'activation' | 'parameter' | 'gradient' | 'optimizerState' | 'autocastCopy';

let nextStorageId = 1;

export class Storage {
  readonly id = nextStorageId++;
  readonly bytes: number;
  handleRefs = 0;
  tapeRefs = 0;
  /** Bumped by every in-place write, so the tape can detect a saved tensor that changed. */
  version = 0;
  private roleValue: StorageRole = 'activation';
  private trainableValue = false;
  private categoryValue: MemoryCategory = 'temporaries';
  private freed = false;

  constructor(
    readonly context: DeviceContext,
    readonly buffer: BackendBuffer,
    readonly dtype: DType,
    readonly numel: number,
  ) {
    this.bytes = numel * bytesPerElement(dtype);
    context.ledger.add(this.categoryValue, this.bytes, this.id);
  }

  get role(): StorageRole { return this.roleValue; }
  get trainable(): boolean { return this.trainableValue; }
  get category(): MemoryCategory { return this.categoryValue; }
  get isFreed(): boolean { return this.freed; }

  setRole(role: StorageRole, trainable = false): void {
    this.roleValue = role;
    this.trainableValue = trainable;
    this.recategorize();
  }

  retainHandle(): void { this.handleRefs++; }
  retainTape(): void { this.tapeRefs++; this.recategorize(); }

  releaseHandle(): void {
    if (this.handleRefs <= 0) throw new Error(`storage ${this.id}: released more handles than it had`);
    this.handleRefs--;
    this.freeIfUnreferenced();
  }

  releaseTape(): void {
    if (this.tapeRefs <= 0) throw new Error(`storage ${this.id}: released more tape references than it had`);
    this.tapeRefs--;
    if (!this.freeIfUnreferenced()) this.recategorize();
  }

  private categoryFor(): MemoryCategory {
    switch (this.roleValue) {
      case 'parameter': return this.trainableValue ? 'parametersTrainable' : 'parametersFrozen';
      case 'gradient': return 'gradients';
      case 'optimizerState': return 'optimizerState';
      case 'autocastCopy': return 'autocastWeightCopies';
      case 'activation': return this.tapeRefs > 0 ? 'savedActivations' : 'temporaries';
    }
  }

  private recategorize(): void {
    if (this.freed) return;
    const next = this.categoryFor();
    this.context.ledger.move(this.categoryValue, next, this.bytes, this.id);
    this.categoryValue = next;
  }

  private freeIfUnreferenced(): boolean {
    if (this.handleRefs > 0 || this.tapeRefs > 0 || this.freed) return false;
    this.freed = true;
    this.context.ledger.remove(this.categoryValue, this.bytes, this.id);
    this.context.freeBuffer(this.buffer);
    return true;
  }
}
