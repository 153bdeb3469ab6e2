// Lazy submission. Dispatches, copies and small uploads are recorded into one
// command encoder (one compute pass while no copy intervenes) and submitted
// when a result is read back, when `sync` is called, or when the batch is
// full. Nothing here waits for the GPU except `readBack` and `drain`.
//
// Params of every dispatch in a batch are packed into one host array and
// uploaded with a single queue.writeBuffer right before the submit; small
// host writes are staged the same way and copied in order by the encoder.
// Reusing both arenas across batches is safe: queue operations execute in
// order, so batch N+1's upload lands after batch N's commands have run.

import { BindGroupCache, DEFAULT_MAX_BIND_GROUPS, type BindGroupCacheStats } from './bind-group-cache.js';
import type { DawnModule } from './dawn.js';
import type { Grid } from './program.js';
import type { ParamLayout, ParamValues } from './params.js';
import type { TimestampProfiler } from './profiler.js';

const UNIFORM_ARENA_BYTES = 64 * 1024;
const UPLOAD_ARENA_BYTES = 4 * 1024 * 1024;

export interface StreamStats {
  readonly submits: number;
  readonly dispatches: number;
  /** Dispatches recorded but not yet submitted. */
  readonly pendingDispatches: number;
  readonly readbacks: number;
}

export class CommandStream {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batchDispatches = 0;
  private readonly uniformGpu: GPUBuffer;
  private readonly uniformHost = new ArrayBuffer(UNIFORM_ARENA_BYTES);
  private readonly uniformWords = new Uint32Array(this.uniformHost);
  private readonly uniformFloats = new Float32Array(this.uniformHost);
  private uniformUsed = 0;
  private readonly bindGroups: BindGroupCache;
  private readonly dynamicOffset = new Uint32Array(1);
  private readonly uploadGpu: GPUBuffer;
  private readonly uploadHost = new Uint8Array(UPLOAD_ARENA_BYTES);
  private uploadUsed = 0;
  private submits = 0;
  private dispatches = 0;
  private readbacks = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly dawn: DawnModule,
    private readonly maxDispatchesPerBatch: number,
    private readonly uniformAlignment: number,
    private readonly profiler: TimestampProfiler | null,
    /** Races a GPU promise against device loss, so nothing hangs on a lost device. */
    private readonly watch: <T>(p: Promise<T>) => Promise<T>,
    maxBindGroups = DEFAULT_MAX_BIND_GROUPS,
  ) {
    const usage = dawn.BufferUsage;
    this.uniformGpu = device.createBuffer({ size: UNIFORM_ARENA_BYTES, usage: usage.UNIFORM | usage.COPY_DST, label: 'gradlab params arena' });
    this.uploadGpu = device.createBuffer({ size: UPLOAD_ARENA_BYTES, usage: usage.COPY_SRC | usage.COPY_DST, label: 'gradlab upload arena' });
    this.bindGroups = new BindGroupCache(device, this.uniformGpu, maxBindGroups);
  }

  get hasPendingWork(): boolean {
    return this.encoder !== null;
  }

  dispatch(
    pipeline: GPUComputePipeline, layout: GPUBindGroupLayout, params: ParamLayout, values: ParamValues,
    buffers: readonly GPUBuffer[], grid: Grid, label: string,
  ): void {
    if (grid[0] === 0 || grid[1] === 0 || grid[2] === 0) return;
    const size = params.byteSize;
    let offset = alignUp(this.uniformUsed, this.uniformAlignment);
    if (offset + size > UNIFORM_ARENA_BYTES) {
      this.flush();
      offset = 0;
    }
    params.pack(values, this.uniformWords, this.uniformFloats, offset / 4);
    this.uniformUsed = offset + size;
    const bindGroup = this.bindGroups.get(layout, size, buffers);
    const encoder = this.openEncoder();
    let pass: GPUComputePassEncoder;
    if (this.profiler) {
      // One pass per dispatch, so its begin/end timestamps time exactly this kernel.
      pass = encoder.beginComputePass({ label, timestampWrites: this.profiler.timestampWrites(label) });
    } else {
      this.pass ??= encoder.beginComputePass();
      pass = this.pass;
    }
    pass.setPipeline(pipeline);
    this.dynamicOffset[0] = offset;
    pass.setBindGroup(0, bindGroup, this.dynamicOffset, 0, 1);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    if (this.profiler) pass.end();
    this.dispatches++;
    if (++this.batchDispatches >= this.maxDispatchesPerBatch) this.flush();
  }

  copyBufferToBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    this.outsidePass().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  clearBuffer(buffer: GPUBuffer, offset: number, bytes: number): void {
    if (bytes === 0) return;
    this.outsidePass().clearBuffer(buffer, offset, bytes);
  }

  /** Writes host bytes into `dst` in program order (offset and length multiples of 4). */
  upload(dst: GPUBuffer, dstOffset: number, bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    if (this.encoder && bytes.byteLength <= UPLOAD_ARENA_BYTES - this.uploadUsed) {
      const at = this.uploadUsed;
      this.uploadHost.set(bytes, at);
      this.uploadUsed = alignUp(at + bytes.byteLength, 4);
      this.outsidePass().copyBufferToBuffer(this.uploadGpu, at, dst, dstOffset, bytes.byteLength);
      return;
    }
    // With nothing pending, the queue's own write is already in program order.
    this.flush();
    this.device.queue.writeBuffer(dst, dstOffset, bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.pass = null;
    this.profiler?.resolve(this.encoder);
    const commands = this.encoder.finish();
    this.encoder = null;
    if (this.uniformUsed > 0) this.device.queue.writeBuffer(this.uniformGpu, 0, this.uniformHost, 0, alignUp(this.uniformUsed, 4));
    if (this.uploadUsed > 0) this.device.queue.writeBuffer(this.uploadGpu, 0, this.uploadHost.buffer, 0, this.uploadUsed);
    this.device.queue.submit([commands]);
    this.profiler?.afterSubmit();
    this.uniformUsed = 0;
    this.uploadUsed = 0;
    this.batchDispatches = 0;
    this.submits++;
  }

  /** Copies `bytes` from `src` after all recorded work and resolves with them. */
  async readBack(src: GPUBuffer, srcOffset: number, bytes: number): Promise<ArrayBuffer> {
    const staging = this.device.createBuffer({ size: bytes, usage: this.dawn.BufferUsage.MAP_READ | this.dawn.BufferUsage.COPY_DST, label: 'gradlab readback' });
    try {
      this.copyBufferToBuffer(src, srcOffset, staging, 0, bytes);
      this.flush();
      this.readbacks++;
      await this.watch(staging.mapAsync(this.dawn.MapMode.READ));
      const copy = staging.getMappedRange().slice(0);
      staging.unmap();
      return copy;
    } finally {
      staging.destroy();
    }
  }

  /** Submits everything and waits until the GPU has finished it. */
  async drain(): Promise<void> {
    this.flush();
    await this.watch(this.device.queue.onSubmittedWorkDone());
  }

  stats(): StreamStats {
    return { submits: this.submits, dispatches: this.dispatches, pendingDispatches: this.batchDispatches, readbacks: this.readbacks };
  }

  /** Cached bind groups: how many are held, created, reused, dropped. */
  bindGroupStats(): BindGroupCacheStats {
    return this.bindGroups.stats();
  }

  /** Drops the cached bind groups that bind `buffer`; the pool calls it before destroying one. */
  forgetBuffer(buffer: GPUBuffer): void {
    this.bindGroups.forget(buffer);
  }

  destroy(): void {
    this.bindGroups.clear();
    this.encoder = null;
    this.pass = null;
    this.uniformGpu.destroy();
    this.uploadGpu.destroy();
  }

  private openEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'gradlab batch' });
    return this.encoder;
  }

  private outsidePass(): GPUCommandEncoder {
    this.pass?.end();
    this.pass = null;
    return this.openEncoder();
  }
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
