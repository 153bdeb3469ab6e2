// Per-kernel GPU time from timestamp queries. While profiling, every dispatch
// gets its own compute pass whose begin and end timestamps land in a query
// set; at submission the set is resolved and read back asynchronously, and
// the differences are summed per kernel label. Nothing waits for them until
// someone asks for the totals.

import type { DawnModule } from './dawn.js';

export interface KernelTime {
  /** Program label, e.g. 'matmul[f32]'. */
  readonly kernel: string;
  readonly dispatches: number;
  readonly totalMs: number;
}

interface QuerySlab {
  readonly querySet: GPUQuerySet;
  readonly resolveBuffer: GPUBuffer;
  readonly readBuffer: GPUBuffer;
}

export class TimestampProfiler {
  private readonly free: QuerySlab[] = [];
  private current: { slab: QuerySlab; labels: string[] } | null = null;
  private resolved: { slab: QuerySlab; labels: string[] } | null = null;
  private readonly pending = new Set<Promise<void>>();
  private readonly totals = new Map<string, { dispatches: number; ns: bigint }>();

  constructor(
    private readonly device: GPUDevice,
    private readonly dawn: DawnModule,
    /** Dispatches per batch at most (two queries each). */
    private readonly capacity: number,
    private readonly watch: (p: Promise<void>) => Promise<void>,
  ) {}

  /** Timestamp writes for the pass of the next dispatch. */
  timestampWrites(label: string): GPUComputePassTimestampWrites {
    if (!this.current) this.current = { slab: this.free.pop() ?? this.createSlab(), labels: [] };
    const i = this.current.labels.length;
    if (i >= this.capacity) throw new Error(`webgpu profiler: more than ${this.capacity} dispatches in one batch`);
    this.current.labels.push(label);
    return { querySet: this.current.slab.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Records the resolve and copy of this batch's queries; call just before finishing the encoder. */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.current) return;
    const { slab, labels } = this.current;
    const bytes = labels.length * 16;
    encoder.resolveQuerySet(slab.querySet, 0, labels.length * 2, slab.resolveBuffer, 0);
    encoder.copyBufferToBuffer(slab.resolveBuffer, 0, slab.readBuffer, 0, bytes);
    this.resolved = this.current;
    this.current = null;
  }

  /** Starts reading the resolved queries back; call right after submitting. */
  afterSubmit(): void {
    const batch = this.resolved;
    if (!batch) return;
    this.resolved = null;
    const { slab, labels } = batch;
    const done = slab.readBuffer.mapAsync(this.dawn.MapMode.READ, 0, labels.length * 16).then(() => {
      const stamps = new BigUint64Array(slab.readBuffer.getMappedRange(0, labels.length * 16));
      labels.forEach((label, i) => {
        const begin = stamps[2 * i];
        const end = stamps[2 * i + 1];
        const entry = this.totals.get(label) ?? { dispatches: 0, ns: 0n };
        entry.dispatches++;
        entry.ns += end > begin ? end - begin : 0n;
        this.totals.set(label, entry);
      });
      slab.readBuffer.unmap();
      this.free.push(slab);
    });
    const tracked = this.watch(done).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** Totals per kernel label, slowest first, once every submitted batch has been read back. */
  async kernelTimes(): Promise<KernelTime[]> {
    await Promise.all([...this.pending]);
    return [...this.totals.entries()]
      .map(([kernel, t]) => ({ kernel, dispatches: t.dispatches, totalMs: Number(t.ns) / 1e6 }))
      .sort((a, b) => b.totalMs - a.totalMs);
  }

  reset(): void {
    this.totals.clear();
  }

  private createSlab(): QuerySlab {
    const usage = this.dawn.BufferUsage;
    return {
      querySet: this.device.createQuerySet({ type: 'timestamp', count: 2 * this.capacity, label: 'gradlab profiler' }),
      resolveBuffer: this.device.createBuffer({ size: 16 * this.capacity, usage: usage.QUERY_RESOLVE | usage.COPY_SRC }),
      readBuffer: this.device.createBuffer({ size: 16 * this.capacity, usage: usage.MAP_READ | usage.COPY_DST }),
    };
  }
}
