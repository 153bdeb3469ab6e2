// A tensor saved for backward. The slot holds a tape reference to the storage
// (so the ledger counts it as a saved activation while no handle holds it)
// and remembers the storage version, so an in-place write after saving is
// caught instead of silently corrupting the gradient.

import { Tensor } from '../tensor/tensor.js';
import type { Storage } from '../tensor/storage.js';

export class SavedTensor {
  private storage: Storage | null;
  private readonly shape: readonly number[];
  private readonly strides: readonly number[];
  private readonly offset: number;
  private readonly version: number;
  private readonly label: string;

  constructor(t: Tensor, private readonly savedBy: string) {
    t.assertAlive(`${savedBy} (saving for backward)`);
    this.storage = t.storage;
    this.shape = t.shape;
    this.strides = t.strides;
    this.offset = t.offset;
    this.version = t.storage.version;
    this.label = t.describe();
    this.storage.retainTape();
  }

  get bytes(): number {
    return this.storage?.bytes ?? 0;
  }

  get isReleased(): boolean {
    return this.storage === null;
  }

  /** A fresh handle on the saved data (the caller disposes it). */
  unpack(): Tensor {
    if (!this.storage) throw new Error(`backward: a tensor ${this.label} saved by '${this.savedBy}' was already freed`);
    if (this.storage.version !== this.version) {
      throw new Error(`backward: a tensor ${this.label} saved by '${this.savedBy}' was modified in place after it was saved (version ${this.version} -> ${this.storage.version})`);
    }
    return new Tensor(this.storage, this.shape, this.strides, this.offset);
  }

  release(): void {
    if (!this.storage) return;
    const s = this.storage;
    this.storage = null;
    s.releaseTape();
  }
}
