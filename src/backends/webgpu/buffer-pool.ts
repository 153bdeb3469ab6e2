// A size-class pool of GPU storage buffers, like a CUDA caching allocator:
// freed buffers go back to a free list of their class instead of being
// destroyed, so steady-state training allocates nothing from the device.
// reservedBytes counts every buffer held from the device (in use or free);
// allocatedBytes counts the classes handed out to live buffers.
//
// Reuse is safe without waiting for the GPU because all work runs in one
// queue in program order: a later user of a recycled buffer is recorded after
// every earlier use of it.

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

export class BufferPool {
  private readonly freeLists = new Map<number, GPUBuffer[]>();
  private reserved = 0;
  private allocated = 0;
  private created = 0;
  private reused = 0;
  private freeCount = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
    private readonly maxBufferBytes: number,
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
    this.created++;
    this.reserved += capacityBytes;
    return { gpu, capacityBytes };
  }

  release(gpu: GPUBuffer, capacityBytes: number): void {
    this.allocated -= capacityBytes;
    let list = this.freeLists.get(capacityBytes);
    if (!list) this.freeLists.set(capacityBytes, (list = []));
    list.push(gpu);
    this.freeCount++;
  }

  /** Destroys every free buffer, returning reserved memory to the device. */
  releaseCached(): void {
    for (const [capacity, list] of this.freeLists) {
      for (const gpu of list) {
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
