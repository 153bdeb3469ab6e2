// Saved-tensor hooks decide how an op's saved tensors are stored: by default
// as SavedTensor slots; checkpoint() installs hooks that store nothing and
// recompute on unpack (like torch.autograd.graph.saved_tensors_hooks).

import type { Tensor } from '../tensor/tensor.js';
import { SavedTensor } from './saved-tensor.js';

export interface SavedTensorHooks {
  /** Called when an op saves t; returns whatever unpack needs later. */
  pack(t: Tensor, savedBy: string): unknown;
  /** Returns a handle on the saved tensor (the caller disposes it). */
  unpack(packed: unknown): Tensor;
  /** Called once the packed value will not be unpacked again. */
  release(packed: unknown): void;
}

const defaultHooks: SavedTensorHooks = {
  pack: (t, savedBy) => new SavedTensor(t, savedBy),
  unpack: (packed) => (packed as SavedTensor).unpack(),
  release: (packed) => (packed as SavedTensor).release(),
};

const stack: SavedTensorHooks[] = [];

export function currentSavedTensorHooks(): SavedTensorHooks {
  return stack[stack.length - 1] ?? defaultHooks;
}

export function withSavedTensorHooks<T>(hooks: SavedTensorHooks, fn: () => T): T {
  stack.push(hooks);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}
