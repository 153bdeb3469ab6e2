// A size-class pool over raw storage blocks (GPU buffers or host arrays), so a
// training step that frees and allocates the same sizes again reuses blocks
// instead of allocating. Like a CUDA caching allocator it reports what live
// buffers hold (allocated) apart from what it keeps (reserved).

export interface BlockFactory<Block> {
  create(bytes: number): Block;
  destroy(block: Block): void;
}

export interface PoolStats {
  /** Bytes held from the device or heap: live blocks plus cached free blocks. */
  readonly reservedBytes: number;
  /** Bytes of blocks currently handed out (size-class rounded). */
  readonly allocatedBytes: number;
  /** Allocations served from a cached block. */
  readonly reuses: number;
  /** Allocations that had to create a block. */
  readonly creations: number;
  readonly liveBlocks: number;
  readonly freeBlocks: number;
}

const MIN_BLOCK_BYTES = 256;
const POWER_OF_TWO_LIMIT = 1 << 20;

/** Block size for a request: powers of two up to 1 MiB, then sixteenths of the power-of-two octave (<= 12.5% waste). */
export function sizeClassBytes(bytes: number): number {
  const wanted = Math.max(bytes, MIN_BLOCK_BYTES);
  const power = 2 ** Math.ceil(Math.log2(wanted));
  if (power <= POWER_OF_TWO_LIMIT) return power;
  const step = power / 16;
  return Math.ceil(wanted / step) * step;
}

export class BufferPool<Block> {
  private readonly free = new Map<number, Block[]>();
  private readonly sizes = new Map<Block, number>();
  private reserved = 0;
  private allocated = 0;
  private reuses = 0;
  private creations = 0;
  private live = 0;
  private cached = 0;

  constructor(private readonly factory: BlockFactory<Block>) {}

  /** A block of at least `bytes` bytes; its actual size is `sizeOf(block)`. */
  acquire(bytes: number): Block {
    const size = sizeClassBytes(bytes);
    const list = this.free.get(size);
    let block = list?.pop();
    if (block !== undefined) {
      this.reuses++;
      this.cached--;
    } else {
      block = this.factory.create(size);
      this.sizes.set(block, size);
      this.reserved += size;
      this.creations++;
    }
    this.allocated += size;
    this.live++;
    return block;
  }

  release(block: Block): void {
    const size = this.sizeOf(block);
    this.allocated -= size;
    this.live--;
    this.cached++;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(block);
  }

  sizeOf(block: Block): number {
    const size = this.sizes.get(block);
    if (size === undefined) throw new Error('gpujs backend: internal error: a storage block that the pool did not create');
    return size;
  }

  /** Gives every cached free block back to the device or heap. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const block of list) this.forget(block);
    }
    this.free.clear();
    this.cached = 0;
  }

  /** Destroys every block, live ones included (the backend is going away). */
  destroyAll(): void {
    this.trim();
    for (const block of [...this.sizes.keys()]) this.forget(block);
    this.allocated = 0;
    this.live = 0;
  }

  stats(): PoolStats {
    return {
      reservedBytes: this.reserved, allocatedBytes: this.allocated, reuses: this.reuses, creations: this.creations,
      liveBlocks: this.live, freeBlocks: this.cached,
    };
  }

  private forget(block: Block): void {
    this.reserved -= this.sizeOf(block);
    this.sizes.delete(block);
    this.factory.destroy(block);
  }
}
