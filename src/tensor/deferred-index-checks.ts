// Device-side index assertions, for backends whose kernels cannot throw (a GPU
// kernel has no way to stop the host; CUDA has its "device-side assert" for
// this). Before an embedding lookup or a cross-entropy forward runs on such a
// backend, a few core kernels check its indices on the device and fold the
// first failure into a 4-element status buffer; nothing is read back then.
// The next readback of any tensor on that backend (tensor.data(), item(),
// a loss read by the training loop) reads the status too and throws a
// DeviceAssertError naming the op, the position and the bad index; the status
// is then cleared. Everything computed between the bad op and that readback is
// garbage (NaN losses, skipped rows), exactly as with a CUDA device assert.
//
// Backends that check indices as they run (cpu, wasm) declare
// capabilities.indexErrors = 'immediate' and skip all of this.
//
// The check's buffers are the assertion machinery, not the program's
// tensors, so they stay out of the memory ledger: the same program reports
// the same bytes on every backend.

import type { Backend, BackendBuffer, ScratchAllocator } from '../backends/backend.js';
import { dense, Scratch, view } from '../backends/composite.js';
import { indexOutOfRange, labelOutOfRange } from '../backends/index-errors.js';

/** What a deferred check looked for, kept on the host; the device status refers to it by id. */
interface IndexCheck {
  /** The op as the user knows it: 'embedding' or 'crossEntropy' (whose indices are called labels). */
  readonly op: string;
  /** Valid indices are [0, bound). */
  readonly bound: number;
  /** An index equal to this is skipped, not an error (cross-entropy's ignore index). */
  readonly ignoreIndex: number | null;
}

/** An invalid index found on the device, raised at the first readback after it. */
export class DeviceAssertError extends Error {
  constructor(
    readonly op: string,
    readonly position: number,
    readonly index: number,
    readonly bound: number,
    readonly invalidCount: number,
    readonly backendName: string,
    detail: string,
  ) {
    super(detail);
    this.name = 'DeviceAssertError';
  }
}

/** Positions and indices are carried as f32 on the device; beyond 2^24 they are approximate. */
const F32_EXACT = 2 ** 24;

export class DeferredIndexChecks {
  private status: BackendBuffer | null = null;
  /** capacity - i at element i, uploaded once and regrown (doubling) only when a longer index list comes. */
  private descending: BackendBuffer | null = null;
  /** Whether a check ran since the status was last read. */
  private dirty = false;
  private readonly checks: IndexCheck[] = [];
  private readonly checkIds = new Map<string, number>();
  private readonly scratch: ScratchAllocator;

  constructor(private readonly backend: Backend) {
    this.scratch = { alloc: (dtype, numel) => backend.alloc(dtype, numel), free: (buffer) => backend.free(buffer) };
  }

  /**
   * Queues the device-side check of `n` i32 indices in `indices` against
   * [0, bound), skipping `ignoreIndex`. Records the first invalid one (lowest
   * position) of the first failing check since the last readback.
   */
  record(op: string, indices: BackendBuffer, n: number, bound: number, ignoreIndex: number | null = null): void {
    if (n === 0) return;
    const id = this.checkId({ op, bound, ignoreIndex });
    const core = this.backend;
    const status = this.statusBuffer();
    const descending = this.descendingBuffer(n);
    const s = new Scratch(core, this.scratch);
    try {
      const f = s.widen(indices, 'f32');
      const one = [n];
      // bad[i] = index outside [0, bound) and not the ignore index, as 1 or 0.
      const tooBig = s.binary('gt', one, dense(f, one), view(s.constant('f32', bound - 1), [0]));
      const negative = s.binary('gt', one, view(s.constant('f32', 0), [0]), dense(f, one));
      let bad = s.binary('add', one, dense(tooBig, one), dense(negative, one));
      if (ignoreIndex !== null) {
        const ignored = s.binary('eq', one, dense(f, one), view(s.constant('f32', ignoreIndex), [0]));
        const kept = s.unary('addScalar', one, dense(s.unary('neg', one, dense(ignored, one)), one), 1);
        bad = s.binary('mul', one, dense(bad, one), dense(kept, one));
      }
      // descending[i] = capacity - i is distinct and positive: the largest bad * descending marks the first bad position.
      const weighted = s.binary('mul', one, dense(bad, one), dense(descending, one));
      const firstWeight = s.reduce('max', one, dense(weighted, one), 0);
      const position = s.unary('addScalar', [1], dense(s.unary('neg', [1], dense(firstWeight, [1])), [1]), descending.numel);
      const atFirst = s.binary('eq', one, dense(weighted, one), view(firstWeight, [0]));
      const hit = s.binary('mul', one, dense(atFirst, one), dense(bad, one));
      const index = s.reduce('sum', one, dense(s.binary('mul', one, dense(hit, one), dense(f, one)), one), 0);
      const count = s.reduce('sum', one, dense(bad, one), 0);
      // This check's result: [id + 1, count, position, index] (position and index mean nothing when count is 0).
      const result = s.alloc('f32', 4);
      core.fill(result, id + 1);
      core.copy([1], dense(count, [1]), result, dense(result, [1], 1));
      core.copy([1], dense(position, [1]), result, dense(result, [1], 2));
      core.copy([1], dense(index, [1]), result, dense(result, [1], 3));
      // Keep the first failure: take this result only where the status is still clear and count > 0.
      const clear = s.binary('eq', [1], dense(status, [1]), view(s.constant('f32', 0), [0]));
      const failed = s.binary('gt', [1], dense(count, [1]), view(s.constant('f32', 0), [0]));
      const take = s.binary('mul', [1], dense(clear, [1]), dense(failed, [1]));
      const merged = s.binary('add', [4], dense(status, [4]), dense(s.binary('mul', [4], view(take, [0]), dense(result, [4])), [4]));
      core.copy([4], dense(merged, [4]), status, dense(status, [4]));
      this.dirty = true;
    } finally {
      s.release();
    }
  }

  /** Reads the status if a check ran since the last read; throws (and clears it) if one failed. */
  async raiseIfFailed(): Promise<void> {
    if (!this.dirty || !this.status) return;
    this.dirty = false;
    const [idPlusOne, count, position, index] = Array.from(await this.backend.read(this.status) as Float32Array);
    if (idPlusOne === 0) return;
    this.backend.fill(this.status, 0);
    const check = this.checks[idPlusOne - 1];
    const approx = (v: number) => (Math.abs(v) >= F32_EXACT ? `about ${v}` : `${v}`);
    const what = check.op === 'crossEntropy'
      ? labelOutOfRange(check.op, approx(index), approx(position), check.bound, check.ignoreIndex)
      : indexOutOfRange(check.op, approx(index), approx(position), check.bound);
    const more = count > 1 ? ` (${approx(count)} invalid in that call)` : '';
    throw new DeviceAssertError(
      check.op, position, index, check.bound, count, this.backend.name,
      `${what}${more}. Found on the device by backend '${this.backend.name}' and raised at the first readback after it ` +
      `(a device-side assert: GPU kernels cannot throw); everything computed since that call is invalid.`,
    );
  }

  private checkId(check: IndexCheck): number {
    const key = `${check.op}\u0000${check.bound}\u0000${check.ignoreIndex}`;
    let id = this.checkIds.get(key);
    if (id === undefined) {
      id = this.checks.push(check) - 1;
      this.checkIds.set(key, id);
    }
    return id;
  }

  private statusBuffer(): BackendBuffer {
    if (!this.status) {
      this.status = this.backend.alloc('f32', 4);
      this.backend.fill(this.status, 0);
    }
    return this.status;
  }

  /** The descending positions for at least `n` indices; a dense prefix of it serves any shorter list. */
  private descendingBuffer(n: number): BackendBuffer {
    if (!this.descending || this.descending.numel < n) {
      if (this.descending) this.backend.free(this.descending);
      const capacity = Math.max(n, 2 * (this.descending?.numel ?? 0), 256);
      const values = new Float32Array(capacity);
      for (let i = 0; i < capacity; i++) values[i] = capacity - i;
      this.descending = this.backend.alloc('f32', capacity);
      this.backend.write(this.descending, values);
    }
    return this.descending;
  }
}
