// The pool that places tensors in the shared WebAssembly memory. Blocks come in
// size classes (four per power of two, so at most 25% is lost to rounding);
// a freed block goes back to its class's free list and is handed out again,
// like a caching allocator. The memory only grows; what it has carved out is
// the reserved figure, what live buffers hold (as rounded) the allocated one.

import type { WasmMemory } from './wasm-api.js';

const PAGE_BYTES = 65536;
const MIN_BLOCK = 64;
/** wasm32's ceiling: 65536 pages of 64 KiB. */
export const MAX_MEMORY_BYTES = 2 ** 32;

/** The size class of a request: 64 bytes, or the next of 1, 1.25, 1.5, 1.75 x a power of two. */
export function blockBytesFor(bytes: number): number {
  if (bytes <= MIN_BLOCK) return MIN_BLOCK;
  const octave = 2 ** Math.floor(Math.log2(bytes));
  const quarter = octave / 4;
  return Math.ceil(bytes / quarter) * quarter;
}

export class WasmHeap {
  private top: number;
  private readonly start: number;
  private readonly freeLists = new Map<number, number[]>();
  private allocated = 0;

  constructor(private readonly memory: WasmMemory, heapBase: number) {
    this.start = Math.ceil(heapBase / MIN_BLOCK) * MIN_BLOCK;
    this.top = this.start;
  }

  /** Returns the byte address of a block of at least `bytes` (64-byte aligned). */
  alloc(bytes: number, what: string): { ptr: number; blockBytes: number } {
    const blockBytes = blockBytesFor(bytes);
    const list = this.freeLists.get(blockBytes);
    let ptr = list?.pop();
    if (ptr === undefined) {
      ptr = this.top;
      const end = ptr + blockBytes;
      if (end > MAX_MEMORY_BYTES) {
        throw new Error(`wasm backend: out of memory allocating ${what} (${bytes} bytes): the 4 GiB wasm32 memory holds ${this.top - this.start} bytes of blocks already`);
      }
      const have = this.memory.buffer.byteLength;
      if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE_BYTES));
      this.top = end;
    }
    this.allocated += blockBytes;
    return { ptr, blockBytes };
  }

  free(ptr: number, blockBytes: number): void {
    this.allocated -= blockBytes;
    let list = this.freeLists.get(blockBytes);
    if (!list) this.freeLists.set(blockBytes, (list = []));
    list.push(ptr);
  }

  /** Bytes carved out of the memory for blocks (live or idle in the pool). */
  get reservedBytes(): number {
    return this.top - this.start;
  }

  /** Bytes of live blocks, as rounded to their size classes. */
  get allocatedBytes(): number {
    return this.allocated;
  }
}
