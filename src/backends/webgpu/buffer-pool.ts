// A size-class pool of GPU storage buffers, like a CUDA caching allocator:
// freed buffers go back to a free list of their class instead of being
// destroyed, so steady-state training allocates nothing from the device.
// reservedBytes counts every buffer held from the device (in use or free);
// allocatedBytes counts the classes handed out to live buffers.
//
// Reuse is safe without waiting for the GPU because all work runs in one
// queue in program order: a later user of a recycled buffer is recorded after
// every earlier use of it.
//
// A request takes the free buffer of its class that was created first (not
// the one freed last): the choice then depends only on which buffers are
// free, not on the order they were freed in, so a training step that repeats
// the same allocations gets the same buffers every step, and the bind groups
// cached for its dispatches (bind-group-cache.ts) are hit instead of
// recreated. Last-freed-first permuted the buffers from step to step.

import type { DType } from '../../tensor/dtype.js';
import type { BackendBuffer } from '../backend.js';

/** Smallest class; also keeps every binding a multiple of 4 bytes and non-empty. */
export const MIN_CLASS_BYTES = 256;

/**
 * Rounds a request up to its class: a multiple of a quarter of the power of two
 * below it, and of 256 bytes (so under 256 bytes of slack below 1 KiB, at most
 * a quarter of the request above).
 */
export function sizeClassBytes(bytes: number): number {
  if (bytes <= MIN_CLASS_BYTES) return MIN_CLASS_BYTES;
  const power = 2 ** Math.floor(Math.log2(bytes));
  const step = Math.max(MIN_CLASS_BYTES, power / 4);
  return Math.ceil(bytes / step) * step;
}

export class WebGpuBuffer implements BackendBuffer {
  freed = false;
  constructor(
    readonly dtype: DType,
    readonly numel: number,
    readonly gpu: GPUBuffer,
    /** The class size this buffer occupies in the pool. */
    readonly capacityBytes: number,
    /** The pool it came from, so a buffer of another backend instance is refused. */
    readonly pool: BufferPool,
  ) {}
}

export interface PoolStats {
  readonly reservedBytes: number;
  readonly allocatedBytes: number;
  /** Buffers created on the device so far. */
  readonly created: number;
  /** Allocations served from a free list. */
  readonly reused: number;
  /** Buffers currently waiting in free lists. */
  readonly freeBuffers: number;
}

/** Free buffers of one class, the earliest created on top (a binary min-heap on creation order). */
class FreeList {
  private readonly heap: { order: number; gpu: GPUBuffer }[] = [];

  get size(): number { return this.heap.length; }

  push(order: number, gpu: GPUBuffer): void {
    const h = this.heap;
    h.push({ order, gpu });
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent].order <= h[i].order) break;
      [h[parent], h[i]] = [h[i], h[parent]];
      i = parent;
    }
  }

  pop(): GPUBuffer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && h[l].order < h[m].order) m = l;
        if (r < h.length && h[r].order < h[m].order) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top?.gpu;
  }

  buffers(): GPUBuffer[] { return this.heap.map((e) => e.gpu); }
}

export class BufferPool {
  private readonly freeLists = new Map<number, FreeList>();
  /** Creation order of every buffer the pool holds (in use or free). */
  private readonly creationOrder = new WeakMap<GPUBuffer, number>();
  private reserved = 0;
  private allocated = 0;
  private created = 0;
  private reused = 0;
  private freeCount = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
    private readonly maxBufferBytes: number,
    /** Called before a buffer is destroyed (the bind-group cache drops the groups that bind it). */
    private readonly beforeDestroy: (gpu: GPUBuffer) => void = () => {},
  ) {}

  /** A buffer of at least `bytes` (its class size); the caller wraps it. */
  acquire(bytes: number, label: string): { gpu: GPUBuffer; capacityBytes: number } {
    let capacityBytes = sizeClassBytes(bytes);
    if (capacityBytes > this.maxBufferBytes) capacityBytes = Math.ceil(bytes / 4) * 4;
    const list = this.freeLists.get(capacityBytes);
    const recycled = list?.pop();
    this.allocated += capacityBytes;
    if (recycled) {
      this.freeCount--;
      this.reused++;
      return { gpu: recycled, capacityBytes };
    }
    const gpu = this.device.createBuffer({ size: capacityBytes, usage: this.usage, label });
    this.creationOrder.set(gpu, this.created);
    this.created++;
    this.reserved += capacityBytes;
    return { gpu, capacityBytes };
  }

  release(gpu: GPUBuffer, capacityBytes: number): void {
    this.allocated -= capacityBytes;
    const order = this.creationOrder.get(gpu);
    if (order === undefined) throw new Error(`webgpu buffer pool: released a buffer (${capacityBytes} bytes) the pool did not create`);
    let list = this.freeLists.get(capacityBytes);
    if (!list) this.freeLists.set(capacityBytes, (list = new FreeList()));
    list.push(order, gpu);
    this.freeCount++;
  }

  /** Destroys every free buffer, returning reserved memory to the device. */
  releaseCached(): void {
    for (const [capacity, list] of this.freeLists) {
      for (const gpu of list.buffers()) {
        this.beforeDestroy(gpu);
        this.creationOrder.delete(gpu);
        gpu.destroy();
        this.reserved -= capacity;
      }
    }
    this.freeLists.clear();
    this.freeCount = 0;
  }

  stats(): PoolStats {
    return { reservedBytes: this.reserved, allocatedBytes: this.allocated, created: this.created, reused: this.reused, freeBuffers: this.freeCount };
  }
}
