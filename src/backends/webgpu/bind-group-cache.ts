// Bind groups cached by (layout, params size, storage buffers), so a training
// step that repeats the same dispatches on the same pooled buffers creates no
// GPU objects at all.
//
// Why: a bind group has no destroy() in WebGPU; Dawn's Node bindings release
// it only from the N-API finalizer of its JS wrapper, and Node runs those
// finalizers from a setImmediate callback after GC. A loop that never turns
// the event loop (a training loop whose awaits are all already resolved, e.g.
// no loss readback) therefore kept every per-dispatch bind group alive:
// about 5.5 KiB of native memory each on lavapipe, 1.2 MiB per optimizer step
// of the tiny preset, until the process crashed.
//
// The params block (binding 0) is bound with a dynamic offset into the
// stream's uniform arena, so the offset is not part of the key. A group holds
// its buffers; the pool calls `forget` before it destroys one, so a cached
// group never refers to a destroyed buffer. Past `maxEntries` the least
// recently used group is dropped (left to GC as before).

export interface BindGroupCacheStats {
  /** Bind groups held now. */
  readonly live: number;
  /** Bind groups created on the device so far. */
  readonly created: number;
  readonly hits: number;
  /** Dropped because the cache was full. */
  readonly evicted: number;
  /** Dropped because a buffer they bind was destroyed. */
  readonly forgotten: number;
}

export const DEFAULT_MAX_BIND_GROUPS = 4096;

export class BindGroupCache {
  private readonly groups = new Map<string, GPUBindGroup>();
  /** Keys of the cached groups that bind each buffer (by buffer id). */
  private readonly keysByBuffer = new Map<number, Set<string>>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  private created = 0;
  private hits = 0;
  private evicted = 0;
  private forgotten = 0;

  constructor(
    private readonly device: GPUDevice,
    /** The uniform arena every params block lives in (bound at dynamic offsets). */
    private readonly uniformArena: GPUBuffer,
    private readonly maxEntries = DEFAULT_MAX_BIND_GROUPS,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error(`webgpu bind-group cache: maxEntries must be a positive integer, got ${maxEntries}`);
  }

  /** A group binding the params block (`paramsBytes` at a dynamic offset) and `buffers` at bindings 1.. */
  get(layout: GPUBindGroupLayout, paramsBytes: number, buffers: readonly GPUBuffer[]): GPUBindGroup {
    const bufferIds = buffers.map((b) => this.idOf(b));
    const key = `${this.idOf(layout)}:${paramsBytes}:${bufferIds.join(',')}`;
    const cached = this.groups.get(key);
    if (cached) {
      this.hits++;
      // Re-insert so Map order is least recently used first.
      this.groups.delete(key);
      this.groups.set(key, cached);
      return cached;
    }
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.uniformArena, offset: 0, size: paramsBytes } }];
    buffers.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
    const group = this.device.createBindGroup({ layout, entries });
    this.created++;
    this.groups.set(key, group);
    for (const id of new Set(bufferIds)) {
      let keys = this.keysByBuffer.get(id);
      if (!keys) this.keysByBuffer.set(id, (keys = new Set()));
      keys.add(key);
    }
    if (this.groups.size > this.maxEntries) {
      const oldest = this.groups.keys().next().value as string;
      this.drop(oldest);
      this.evicted++;
    }
    return group;
  }

  /** Drops every group that binds `buffer`; call before destroying it. */
  forget(buffer: GPUBuffer): void {
    const id = this.ids.get(buffer);
    if (id === undefined) return;
    const keys = this.keysByBuffer.get(id);
    if (!keys) return;
    for (const key of [...keys]) {
      this.drop(key);
      this.forgotten++;
    }
    this.keysByBuffer.delete(id);
  }

  /** Drops every group (on backend destroy). */
  clear(): void {
    this.groups.clear();
    this.keysByBuffer.clear();
  }

  stats(): BindGroupCacheStats {
    return { live: this.groups.size, created: this.created, hits: this.hits, evicted: this.evicted, forgotten: this.forgotten };
  }

  private drop(key: string): void {
    if (!this.groups.delete(key)) return;
    // The key's buffer ids follow the second ':'.
    const ids = key.slice(key.indexOf(':', key.indexOf(':') + 1) + 1);
    for (const part of ids ? ids.split(',') : []) {
      const id = Number(part);
      const keys = this.keysByBuffer.get(id);
      keys?.delete(key);
      if (keys && keys.size === 0) this.keysByBuffer.delete(id);
    }
  }

  private idOf(object: object): number {
    let id = this.ids.get(object);
    if (id === undefined) this.ids.set(object, (id = this.nextId++));
    return id;
  }
}
