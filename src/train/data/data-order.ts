// Deterministic shuffling and batching: which record indices go into each batch.
//
// Epoch e's order is a Fisher-Yates (Durstenfeld) shuffle of 0..n-1:
//   rng = Prng32(fmix32((seed ^ fmix32(e + 1)) >>> 0))
//   for i = n-1 down to 1: j = rng.nextInt(i + 1); swap(order[i], order[j])
// (Prng32 and fmix32 are documented in prng32.ts.) Batches are consecutive slices of that
// order. The whole position is {seed, epoch, position}, so a run resumed from a saved state
// sees exactly the batches an uninterrupted run would have seen.

import { Prng32, fmix32 } from './prng32.js';

export interface DataOrderState {
  seed: number;
  /** Epoch the next batch comes from (0-based). */
  epoch: number;
  /** Index into that epoch's order where the next batch starts. */
  position: number;
}

export interface DataOrderOptions {
  datasetSize: number;
  batchSize: number;
  /** Whether each epoch is shuffled (default true); false keeps 0..n-1 (e.g. for evaluation). */
  shuffle?: boolean;
  /** Drop an epoch's last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
}

/** Epoch e's order of 0..n-1 for a seed (see the file comment for the exact recipe). */
export function epochPermutation(datasetSize: number, seed: number, epoch: number): Int32Array {
  const order = new Int32Array(datasetSize);
  for (let i = 0; i < datasetSize; i++) order[i] = i;
  const rng = new Prng32(fmix32((seed ^ fmix32(epoch + 1)) >>> 0));
  for (let i = datasetSize - 1; i >= 1; i--) {
    const j = rng.nextInt(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`DataOrder: ${name} must be an integer >= ${min}, got ${value}`);
}

export class DataOrder {
  readonly datasetSize: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly seed: number;
  private epoch: number;
  private position: number;
  private cachedEpoch = -1;
  private cachedOrder: Int32Array = new Int32Array(0);

  constructor(options: DataOrderOptions & { seed: number }, state?: DataOrderState) {
    checkCount('datasetSize', options.datasetSize, 1);
    checkCount('batchSize', options.batchSize, 1);
    this.datasetSize = options.datasetSize;
    this.batchSize = options.batchSize;
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    if (this.dropLast && this.batchSize > this.datasetSize) {
      throw new Error(`DataOrder: dropLast with batchSize ${this.batchSize} > datasetSize ${this.datasetSize} would yield no batch`);
    }
    const start = state ?? { seed: options.seed, epoch: 0, position: 0 };
    if (state !== undefined && state.seed !== options.seed) {
      throw new Error(`DataOrder: state seed ${state.seed} does not match options seed ${options.seed}`);
    }
    if (!Number.isSafeInteger(start.seed)) throw new Error(`DataOrder: seed must be an integer, got ${start.seed}`);
    checkCount('state.epoch', start.epoch, 0);
    checkCount('state.position', start.position, 0);
    if (start.position > this.datasetSize) {
      throw new Error(`DataOrder: state.position ${start.position} exceeds datasetSize ${this.datasetSize}`);
    }
    this.seed = start.seed;
    this.epoch = start.epoch;
    this.position = start.position;
    this.rollOverIfEpochDone();
  }

  /** Continue from a saved state (its seed is used). */
  static resume(options: DataOrderOptions, state: DataOrderState): DataOrder {
    return new DataOrder({ ...options, seed: state.seed }, state);
  }

  /** A copy of the current position; JSON-serialisable. */
  get state(): DataOrderState {
    return { seed: this.seed, epoch: this.epoch, position: this.position };
  }

  /** Batches per epoch under the dropLast setting. */
  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.datasetSize / this.batchSize) : Math.ceil(this.datasetSize / this.batchSize);
  }

  /** The full order of one epoch (a copy). */
  epochOrder(epoch: number): Int32Array {
    checkCount('epoch', epoch, 0);
    return this.orderOf(epoch).slice();
  }

  /** Record indices of the next batch; advances the state, rolling over to the next epoch. */
  nextBatch(): number[] {
    const order = this.orderOf(this.epoch);
    const end = Math.min(this.position + this.batchSize, this.datasetSize);
    const batch = Array.from(order.subarray(this.position, end));
    this.position = end;
    this.rollOverIfEpochDone();
    return batch;
  }

  private rollOverIfEpochDone(): void {
    const remaining = this.datasetSize - this.position;
    if (remaining === 0 || (this.dropLast && remaining < this.batchSize)) {
      this.epoch += 1;
      this.position = 0;
    }
  }

  private orderOf(epoch: number): Int32Array {
    if (this.cachedEpoch !== epoch) {
      this.cachedOrder = this.shuffle ? epochPermutation(this.datasetSize, this.seed, epoch) : Int32Array.from({ length: this.datasetSize }, (_, i) => i);
      this.cachedEpoch = epoch;
    }
    return this.cachedOrder;
  }
}
