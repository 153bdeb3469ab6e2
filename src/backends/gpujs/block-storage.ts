/// <reference types="@webgpu/types" />
// Where a gpu.js mode keeps buffer contents, and the data movement that is not
// a kernel (uploads, readbacks, whole-block copies). webgpu keeps f32 storage
// buffers on the device that gpu.js kernels bind directly; webasm and cpu keep
// host Float32Arrays that gpu.js copies into its kernels. Data movement runs
// inside the backend's ordered queue; the pool creates and destroys blocks in
// program order.

import type { BlockFactory } from './buffer-pool.js';
import type { GpuJsLibrary, WebGpuContext } from './gpujs-library.js';

export interface BlockStorage<Block> extends BlockFactory<Block> {
  /** Stores f32 `values` from element `elementOffset`. */
  write(block: Block, elementOffset: number, values: Float32Array): void;
  /** The f32 contents of a range; may complete asynchronously (device readback). */
  read(block: Block, elementOffset: number, count: number): Float32Array | Promise<Float32Array>;
  /** dst[0, count) = src[0, count). */
  copy(src: Block, dst: Block, count: number): void;
  /** How a block holding `numel` elements is passed to a gpu.js kernel. */
  kernelArgument(block: Block, numel: number): unknown;
  /** Resolves once the device has finished all work submitted so far (host storage: at once). */
  finished(): Promise<void>;
}

// WebGPU usage flags (fixed by the spec; Dawn's globals are not needed for them).
const USAGE_MAP_READ = 0x0001;
const USAGE_COPY_SRC = 0x0004;
const USAGE_COPY_DST = 0x0008;
const USAGE_STORAGE = 0x0080;
const MAP_MODE_READ = 0x0001;

export class DeviceBlockStorage implements BlockStorage<GPUBuffer> {
  private readonly device: GPUDevice;
  /** Readback buffers kept for reuse, by size (a readback of the same size needs no new buffer). */
  private readonly staging = new Map<number, GPUBuffer[]>();

  constructor(private readonly lib: GpuJsLibrary, private readonly context: WebGpuContext) {
    this.device = context.device;
  }

  create(bytes: number): GPUBuffer {
    return this.device.createBuffer({ size: bytes, usage: USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST });
  }

  destroy(block: GPUBuffer): void {
    block.destroy();
  }

  write(block: GPUBuffer, elementOffset: number, values: Float32Array): void {
    if (values.length > 0) this.device.queue.writeBuffer(block, elementOffset * 4, values.buffer, values.byteOffset, values.byteLength);
  }

  read(block: GPUBuffer, elementOffset: number, count: number): Promise<Float32Array> {
    const bytes = count * 4;
    if (bytes === 0) return Promise.resolve(new Float32Array(0));
    const size = Math.max(16, 2 ** Math.ceil(Math.log2(bytes)));
    const staging = this.staging.get(size)?.pop()
      ?? this.device.createBuffer({ size, usage: USAGE_MAP_READ | USAGE_COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(block, elementOffset * 4, staging, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
    return staging.mapAsync(MAP_MODE_READ, 0, bytes).then(() => {
      const values = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
      staging.unmap();
      let list = this.staging.get(size);
      if (!list) this.staging.set(size, (list = []));
      if (list.length < 4) list.push(staging);
      else staging.destroy();
      return values;
    }, (error: unknown) => {
      staging.destroy();
      const lost = this.context.isLost ? ' (the WebGPU device was lost)' : '';
      throw new Error(`gpujs backend (webgpu): readback of ${count} elements failed${lost}: ${(error as Error).message}`);
    });
  }

  copy(src: GPUBuffer, dst: GPUBuffer, count: number): void {
    if (count === 0) return;
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(src, 0, dst, 0, count * 4);
    this.device.queue.submit([encoder.finish()]);
  }

  kernelArgument(block: GPUBuffer, numel: number): unknown {
    // gpu.js binds a pipeline handle wherever an array argument was declared; it needs only the
    // buffer, its logical length and the shared device context.
    return new this.lib.WebGPUBufferResult({ buffer: block, output: [Math.max(1, numel)], componentCount: 1, context: this.context, kernel: null });
  }

  finished(): Promise<void> {
    return this.device.queue.onSubmittedWorkDone();
  }

  releaseStaging(): void {
    for (const list of this.staging.values()) for (const buffer of list) buffer.destroy();
    this.staging.clear();
  }
}

export class HostBlockStorage implements BlockStorage<Float32Array> {
  create(bytes: number): Float32Array {
    return new Float32Array(bytes / 4);
  }

  destroy(): void {
    // Host arrays are reclaimed by the garbage collector once the pool forgets them.
  }

  write(block: Float32Array, elementOffset: number, values: Float32Array): void {
    block.set(values, elementOffset);
  }

  read(block: Float32Array, elementOffset: number, count: number): Float32Array {
    return block.slice(elementOffset, elementOffset + count);
  }

  copy(src: Float32Array, dst: Float32Array, count: number): void {
    dst.set(src.subarray(0, count));
  }

  kernelArgument(block: Float32Array, numel: number): unknown {
    // gpu.js reads exactly the array it is given; a view of the live elements (at least one, as gpu.js
    // rejects empty arrays) keeps its size signature that of the tensor, not of the pool block.
    return block.subarray(0, Math.max(1, numel));
  }

  finished(): Promise<void> {
    return Promise.resolve();
  }
}
