// One backend in use: its kernels (with composite defaults filled in), the
// memory ledger of the tensors living on it, and its work counter. Every
// kernel call of the tensor layer goes through `run`, which counts the work
// from the kernel-spec table.

import type { Backend, BackendBuffer, KernelSet } from '../backends/backend.js';
import { withCompositeDefaults } from '../backends/composite.js';
import { kernelSpec } from '../backends/kernel-specs.js';
import type { DType } from './dtype.js';
import { bytesPerElement } from './dtype.js';
import { DeferredIndexChecks } from './deferred-index-checks.js';
import { MemoryLedger, type MemoryReport } from './memory-ledger.js';
import { Storage } from './storage.js';
import { WorkCounter } from './work-counter.js';

/**
 * A tensor's bytes must fit one buffer of the backend. Checked before the
 * backend allocates, with the shape when the caller knows it (creation ops
 * name themselves), so a typo'd shape fails with the figures instead of
 * exhausting host memory.
 */
export function assertFitsOneBuffer(backend: Backend, dtype: DType, numel: number, op?: string, shape?: readonly number[]): void {
  const bytes = numel * bytesPerElement(dtype);
  const limit = backend.capabilities.maxBufferBytes;
  if (!(bytes <= limit)) {
    const what = shape ? `shape [${shape.join(', ')}] ${dtype}` : `${numel} x ${dtype}`;
    throw new Error(
      `${op ?? 'alloc'}: ${what} needs ${bytes} bytes, more than backend '${backend.name}' allows in one buffer ` +
      `(maxBufferBytes ${limit}); check the shape${backend.name === 'cpu' ? ', or raise the limit with new CpuBackend({ maxBufferBytes })' : ''}`,
    );
  }
}

export class DeviceContext {
  readonly ledger = new MemoryLedger();
  readonly work = new WorkCounter();
  readonly kernels: KernelSet;
  /** Device-side index assertions, on backends whose kernels cannot throw; null where they throw themselves. */
  private readonly indexChecks: DeferredIndexChecks | null;

  constructor(readonly backend: Backend) {
    // Composite kernels' scratch buffers are temporaries in the ledger like any other.
    const kernels = withCompositeDefaults(backend, {
      alloc: (dtype, numel) => {
        this.ledger.add('temporaries', numel * bytesPerElement(dtype));
        return backend.alloc(dtype, numel);
      },
      free: (buffer) => {
        this.ledger.remove('temporaries', buffer.numel * bytesPerElement(buffer.dtype));
        backend.free(buffer);
      },
    });
    if (backend.capabilities.indexErrors === 'immediate') {
      this.indexChecks = null;
      this.kernels = kernels;
    } else {
      const checks = new DeferredIndexChecks(backend);
      this.indexChecks = checks;
      // Only the forward ops: their backward kernels use the same indices, after them.
      this.kernels = Object.assign(Object.create(kernels) as KernelSet, {
        gatherRows(table: BackendBuffer, rows: number, cols: number, indices: BackendBuffer, n: number, out: BackendBuffer): void {
          checks.record('embedding', indices, n, rows);
          kernels.gatherRows(table, rows, cols, indices, n, out);
        },
        crossEntropy(logits: BackendBuffer, labels: BackendBuffer, rows: number, cols: number, ignoreIndex: number, loss: BackendBuffer, lse: BackendBuffer): void {
          checks.record('crossEntropy', labels, rows, cols, ignoreIndex);
          kernels.crossEntropy(logits, labels, rows, cols, ignoreIndex, loss, lse);
        },
      });
    }
  }

  /** Throws the first device-side index error recorded since the last readback (a no-op where kernels throw themselves). */
  async raiseDeviceErrors(): Promise<void> {
    await this.indexChecks?.raiseIfFailed();
  }

  get name(): string {
    return this.backend.name;
  }

  allocStorage(dtype: DType, numel: number): Storage {
    if (!this.backend.capabilities.dtypes.includes(dtype)) {
      throw new Error(`backend '${this.backend.name}' does not support dtype ${dtype} (it supports ${this.backend.capabilities.dtypes.join(', ')})`);
    }
    assertFitsOneBuffer(this.backend, dtype, numel);
    return new Storage(this, this.backend.alloc(dtype, numel), dtype, numel);
  }

  freeBuffer(buffer: BackendBuffer): void {
    this.backend.free(buffer);
  }

  /** Invokes a kernel, counting its work with the spec row's formula for `dims`. */
  run<D>(specName: string, dims: D, dtype: DType, invoke: (kernels: KernelSet) => void): void {
    const work = kernelSpec(specName).work(dims, dtype);
    this.work.record(specName, work.flops, work.bytes);
    invoke(this.kernels);
  }

  memoryReport(): MemoryReport {
    return this.ledger.snapshot(this.backend.memoryStats());
  }
}
