// Program order over an asynchronous library. The backend contract is
// synchronous (every call is enqueued in order, only `read`/`sync` await), but
// some gpu.js calls are not: a webgpu kernel's first run waits for its shader
// to compile, and webasm's threaded runs resolve when the workers finish. Each
// step runs at once when nothing is pending (the common, steady-state case: no
// promise is created), otherwise it is chained behind the pending work.
//
// The first failure poisons the queue: later steps are skipped and every later
// `drain()` rejects with that error, so a kernel that fails asynchronously is
// reported at the next read instead of being lost.

export type Step = () => void | Promise<void>;

export class OrderedQueue {
  private tail: Promise<void> | null = null;
  private failure: Error | null = null;
  /** Steps that had to wait for earlier asynchronous work (for stats). */
  deferredSteps = 0;

  /** Runs `step` after all earlier steps. Throws synchronously when it can run (and fails) at once. */
  enqueue(step: Step): void {
    if (this.failure) throw this.failure;
    if (this.tail === null) {
      const result = step();
      if (result instanceof Promise) this.track(result);
      return;
    }
    this.deferredSteps++;
    this.track(this.tail.then(() => (this.failure ? undefined : step())));
  }

  /** Resolves after every enqueued step; rejects with the first failure. */
  async drain(): Promise<void> {
    while (this.tail !== null) await this.tail;
    if (this.failure) throw this.failure;
  }

  /** True while asynchronous work is pending. */
  get busy(): boolean {
    return this.tail !== null;
  }

  get failed(): Error | null {
    return this.failure;
  }

  private track(work: Promise<void>): void {
    const tracked: Promise<void> = work.then(
      () => { if (this.tail === tracked) this.tail = null; },
      (error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
        if (this.tail === tracked) this.tail = null;
      },
    );
    this.tail = tracked;
  }
}
