// Gradient checkpointing with PyTorch's non-reentrant semantics. The forward
// runs normally and records the graph, but saved-tensor hooks keep nothing
// except the checkpoint's inputs. The first time backward unpacks a tensor
// saved inside the region, the region is re-run (same generator state and
// ambient state, grad on) to rebuild every saved tensor; each is handed out
// once and freed, and the recomputed graph itself is dropped at once.

import { getGeneratorState, setGeneratorState, type GeneratorState } from '../tensor/generator.js';
import { currentModulePath, isMemoryContextActive, withModuleContext } from '../tensor/memory-context.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { withPhase } from '../tensor/work-counter.js';
import { captureCheckpointState, enterCheckpointState } from './checkpoint-state.js';
import { enableGrad, isGradEnabled } from './grad-mode.js';
import { SavedTensor } from './saved-tensor.js';
import { withSavedTensorHooks, type SavedTensorHooks } from './saved-tensor-hooks.js';

type CheckpointFn<T> = (...inputs: Tensor[]) => T;

/** What one checkpointed call keeps: its inputs, and how to replay it. */
class CheckpointFrame {
  private readonly inputs: SavedTensor[];
  private readonly inputRequiresGrad: boolean[];
  private recomputed: (SavedTensor | null)[] | null = null;
  /** Packed slots not yet released; the frame lets go of its inputs when this reaches 0. */
  private outstanding = 0;
  packedCount = 0;
  private closed = false;
  /** The module the forward ran in, so a memory timeline attributes the recomputation as it did the forward. */
  private readonly modulePath = isMemoryContextActive() ? currentModulePath() : null;

  constructor(
    private readonly fn: CheckpointFn<unknown>,
    inputs: readonly Tensor[],
    private readonly generator: GeneratorState,
    private readonly ambient: unknown[],
  ) {
    this.inputs = inputs.map((t) => new SavedTensor(t, 'checkpoint'));
    this.inputRequiresGrad = inputs.map((t) => t.requiresGrad);
  }

  pack(): number {
    this.outstanding++;
    return this.packedCount++;
  }

  unpack(index: number): Tensor {
    if (!this.recomputed) this.recompute();
    const slot = this.recomputed![index];
    if (!slot) throw new Error(`checkpoint: saved tensor ${index} of the region was already used; backward through a checkpointed region runs once per forward`);
    this.recomputed![index] = null;
    const t = slot.unpack();
    slot.release();
    return t;
  }

  release(index: number): void {
    const slot = this.recomputed?.[index];
    if (slot) { slot.release(); this.recomputed![index] = null; }
    if (--this.outstanding === 0) this.close();
  }

  /** Called when forward packed nothing: the inputs are not needed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.inputs) s.release();
    for (const s of this.recomputed ?? []) s?.release();
    this.recomputed = null;
  }

  private recompute(): void {
    const slots: SavedTensor[] = [];
    const recordHooks: SavedTensorHooks = {
      pack: (t, savedBy) => { slots.push(new SavedTensor(t, savedBy)); return slots.length - 1; },
      unpack: () => { throw new Error('checkpoint: a recomputed graph is never run backward'); },
      release: () => {},
    };
    const outerGenerator = getGeneratorState();
    setGeneratorState(this.generator);
    const exitAmbient = enterCheckpointState(this.ambient);
    try {
      const rerun = () => enableGrad(() => tidy(() => {
        const detached = this.inputs.map((s, i) => {
          const t = s.unpack();
          t.requiresGrad = this.inputRequiresGrad[i];
          return t;
        });
        // The outputs (and their graph) are dropped when this scope ends: only the slots survive.
        withSavedTensorHooks(recordHooks, () => this.fn(...detached));
      }));
      withPhase('recomputation', () => (isMemoryContextActive() ? withModuleContext(this.modulePath, rerun) : rerun()));
    } finally {
      exitAmbient();
      setGeneratorState(outerGenerator);
    }
    if (slots.length !== this.packedCount) {
      for (const s of slots) s.release();
      throw new Error(`checkpoint: the recomputation saved ${slots.length} tensors but the forward saved ${this.packedCount}; the checkpointed function must do the same ops both times`);
    }
    this.recomputed = slots;
  }
}

/**
 * Runs fn(...inputs) keeping only the inputs for backward; everything fn's ops
 * would save is recomputed during backward. With grad disabled it is a plain call.
 */
export function checkpoint<T>(fn: CheckpointFn<T>, ...inputs: Tensor[]): T {
  if (!isGradEnabled()) return fn(...inputs);
  const frame = new CheckpointFrame(fn as CheckpointFn<unknown>, inputs, getGeneratorState(), captureCheckpointState());
  const hooks: SavedTensorHooks = {
    pack: () => frame.pack(),
    unpack: (index) => frame.unpack(index as number),
    release: (index) => frame.release(index as number),
  };
  const result = withSavedTensorHooks(hooks, () => fn(...inputs));
  if (frame.packedCount === 0) frame.close();
  return result;
}
