// The benchmarked kernel cases. Each names a row of the kernel-spec table and
// its dims, so FLOPs and bytes come from the same `work()` formula the
// tensor layer's work counter uses. `setup` allocates and fills the inputs on
// a backend and returns the call to time.

import type { Backend, BackendBuffer, KernelSet } from '../../src/backends/backend.js';
import { kernelSpec } from '../../src/backends/kernel-specs.js';
import type { DType } from '../../src/tensor/dtype.js';

export interface BenchCase {
  /** Stable id, e.g. 'matmul f16 512x4096x11008'. */
  readonly id: string;
  readonly group: 'matmul' | 'elementwise' | 'softmax' | 'rmsNorm' | 'crossEntropy';
  readonly kernel: string;
  readonly dtype: DType;
  readonly shape: string;
  readonly dims: unknown;
  /** What the headline figure is: compute (GFLOP/s) or memory traffic (GB/s). */
  readonly bound: 'compute' | 'memory';
  /** What the PyTorch script runs for the same case. */
  readonly torch: { readonly op: string; readonly args: Record<string, number | string> };
  setup(kernels: KernelSet): Prepared;
}

export interface Prepared {
  run(): void;
  /** A buffer the op writes: reading one element of it waits for the op (a barrier for any backend). */
  readonly output: BackendBuffer;
  /** Bytes of device buffers the case allocates. */
  readonly bytes: number;
  free(): void;
}

export function workOf(c: BenchCase): { flops: number; bytes: number } {
  return kernelSpec(c.kernel).work(c.dims, c.dtype);
}

class Buffers {
  private readonly held: BackendBuffer[] = [];
  bytes = 0;
  constructor(private readonly k: Backend) {}
  /** A buffer of normal values (drawn on the device, so nothing is uploaded). */
  normal(dtype: DType, numel: number, std = 1): BackendBuffer {
    const b = this.out(dtype, numel);
    this.k.random(b, 'normal', 1234 + this.held.length, 0, 0, std);
    return b;
  }
  positive(dtype: DType, numel: number): BackendBuffer {
    const b = this.out(dtype, numel);
    this.k.random(b, 'uniform', 99 + this.held.length, 0, 0.5, 1.5);
    return b;
  }
  labels(numel: number, classes: number): BackendBuffer {
    const b = this.out('i32', numel);
    this.k.write(b, Int32Array.from({ length: numel }, (_, i) => (i * 7919) % classes));
    return b;
  }
  out(dtype: DType, numel: number): BackendBuffer {
    const b = this.k.alloc(dtype, numel);
    this.held.push(b);
    this.bytes += numel * (dtype === 'f16' ? 2 : 4);
    return b;
  }
  free(): void {
    for (const b of this.held) this.k.free(b);
  }
}

function matmulCase(dtype: DType, m: number, k: number, n: number, bTransposed: boolean, label: string): BenchCase {
  return {
    id: `matmul ${dtype} ${label}`, group: 'matmul', kernel: 'matmul', dtype, shape: label, bound: 'compute',
    dims: { batch: 1, m, n, k, aTransposed: false, bTransposed, aBroadcast: false, bBroadcast: false },
    torch: { op: 'matmul', args: { m, k, n, bTransposed: bTransposed ? 1 : 0, dtype } },
    setup(kernels) {
      const bufs = new Buffers(kernels);
      const a = bufs.normal(dtype, m * k, 0.1);
      const b = bufs.normal(dtype, k * n, 0.1);
      const out = bufs.out(dtype, m * n);
      return {
        run: () => kernels.matmul({ batch: 1, m, n, k }, { buffer: a, offset: 0, batchStride: 0, transposed: false }, { buffer: b, offset: 0, batchStride: 0, transposed: bTransposed }, out),
        output: out, bytes: bufs.bytes, free: () => bufs.free(),
      };
    },
  };
}

function elementwiseCases(dtype: DType, numel: number): BenchCase[] {
  const shape = [numel];
  const dense = { offset: 0, strides: [1], bufferNumel: numel };
  return [
    {
      id: `binary.add ${dtype} ${numel}`, group: 'elementwise', kernel: 'binary.add', dtype, shape: `${numel}`, bound: 'memory',
      dims: { op: 'add', shape, a: dense, b: dense }, torch: { op: 'add', args: { numel, dtype } },
      setup(kernels) {
        const bufs = new Buffers(kernels);
        const a = bufs.normal(dtype, numel);
        const b = bufs.normal(dtype, numel);
        const out = bufs.out(dtype, numel);
        return { run: () => kernels.binary('add', shape, { buffer: a, offset: 0, strides: [1] }, { buffer: b, offset: 0, strides: [1] }, out), output: out, bytes: bufs.bytes, free: () => bufs.free() };
      },
    },
    {
      id: `unary.silu ${dtype} ${numel}`, group: 'elementwise', kernel: 'unary.silu', dtype, shape: `${numel}`, bound: 'memory',
      dims: { op: 'silu', shape, x: dense, scalar: 0 }, torch: { op: 'silu', args: { numel, dtype } },
      setup(kernels) {
        const bufs = new Buffers(kernels);
        const x = bufs.normal(dtype, numel);
        const out = bufs.out(dtype, numel);
        return { run: () => kernels.unary('silu', shape, { buffer: x, offset: 0, strides: [1] }, out, 0), output: out, bytes: bufs.bytes, free: () => bufs.free() };
      },
    },
  ];
}

function softmaxCase(dtype: DType, rows: number, cols: number): BenchCase {
  return {
    id: `softmax ${dtype} ${rows}x${cols}`, group: 'softmax', kernel: 'softmax', dtype, shape: `${rows}x${cols}`, bound: 'memory',
    dims: { rows, cols }, torch: { op: 'softmax', args: { rows, cols, dtype } },
    setup(kernels) {
      const bufs = new Buffers(kernels);
      const x = bufs.normal(dtype, rows * cols, 3);
      const out = bufs.out(dtype, rows * cols);
      return { run: () => kernels.softmax(x, rows, cols, false, out), output: out, bytes: bufs.bytes, free: () => bufs.free() };
    },
  };
}

function rmsNormCases(dtype: DType, rows: number, cols: number): BenchCase[] {
  const dims = { rows, cols, eps: 1e-5 };
  const stat = dtype === 'f64' ? 'f64' : 'f32';
  return [
    {
      id: `rmsNorm ${dtype} ${rows}x${cols}`, group: 'rmsNorm', kernel: 'rmsNorm', dtype, shape: `${rows}x${cols}`, bound: 'memory',
      dims, torch: { op: 'rmsNorm', args: { rows, cols, dtype } },
      setup(kernels) {
        const bufs = new Buffers(kernels);
        const x = bufs.normal(dtype, rows * cols);
        const w = bufs.positive(dtype, cols);
        const y = bufs.out(dtype, rows * cols);
        const rstd = bufs.out(stat, rows);
        return { run: () => kernels.rmsNorm(x, w, rows, cols, 1e-5, y, rstd), output: y, bytes: bufs.bytes, free: () => bufs.free() };
      },
    },
    {
      id: `rmsNormBackward ${dtype} ${rows}x${cols}`, group: 'rmsNorm', kernel: 'rmsNormBackward', dtype, shape: `${rows}x${cols}`, bound: 'memory',
      dims, torch: { op: 'rmsNormBackward', args: { rows, cols, dtype } },
      setup(kernels) {
        const bufs = new Buffers(kernels);
        const x = bufs.normal(dtype, rows * cols);
        const w = bufs.positive(dtype, cols);
        const rstd = bufs.positive(stat, rows);
        const g = bufs.normal(dtype, rows * cols);
        const gx = bufs.out(dtype, rows * cols);
        const gw = bufs.out(dtype, cols);
        return { run: () => kernels.rmsNormBackward(x, w, rstd, g, rows, cols, gx, gw), output: gw, bytes: bufs.bytes, free: () => bufs.free() };
      },
    },
  ];
}

function crossEntropyCases(dtype: DType, rows: number, vocab: number): BenchCase[] {
  const dims = { rows, cols: vocab, ignoreIndex: -100 };
  return [
    {
      id: `crossEntropy ${dtype} ${rows}x${vocab}`, group: 'crossEntropy', kernel: 'crossEntropy', dtype, shape: `${rows}x${vocab}`, bound: 'memory',
      dims, torch: { op: 'crossEntropy', args: { rows, cols: vocab, dtype } },
      setup(kernels) {
        const bufs = new Buffers(kernels);
        const logits = bufs.normal(dtype, rows * vocab, 3);
        const labels = bufs.labels(rows, vocab);
        const loss = bufs.out('f32', rows);
        const lse = bufs.out('f32', rows);
        return { run: () => kernels.crossEntropy(logits, labels, rows, vocab, -100, loss, lse), output: loss, bytes: bufs.bytes, free: () => bufs.free() };
      },
    },
    {
      id: `crossEntropyBackward ${dtype} ${rows}x${vocab}`, group: 'crossEntropy', kernel: 'crossEntropyBackward', dtype, shape: `${rows}x${vocab}`, bound: 'memory',
      dims, torch: { op: 'crossEntropyBackward', args: { rows, cols: vocab, dtype } },
      setup(kernels) {
        const bufs = new Buffers(kernels);
        const logits = bufs.normal(dtype, rows * vocab, 3);
        const lse = bufs.positive('f32', rows);
        const labels = bufs.labels(rows, vocab);
        const gRow = bufs.positive('f32', rows);
        const g = bufs.out(dtype, rows * vocab);
        return { run: () => kernels.crossEntropyBackward(logits, lse, labels, gRow, rows, vocab, -100, g), output: g, bytes: bufs.bytes, free: () => bufs.free() };
      },
    },
  ];
}

/** The full list, or a smaller one (--quick) for a software adapter or a smoke run. */
export function benchCases(quick: boolean): BenchCase[] {
  const cases: BenchCase[] = [];
  for (const dtype of ['f32', 'f16'] as const) {
    for (const s of quick ? [256, 512] : [256, 512, 1024, 2048]) cases.push(matmulCase(dtype, s, s, s, false, `${s}x${s}x${s}`));
    // LLaMA-7B projections for 512 tokens: x (512, 4096) @ W^T with W (4096, 4096) and (11008, 4096).
    if (!quick) {
      cases.push(matmulCase(dtype, 512, 4096, 4096, true, '512x4096x4096 (x W^T)'));
      cases.push(matmulCase(dtype, 512, 4096, 11008, true, '512x4096x11008 (x W^T)'));
    }
  }
  for (const dtype of ['f32', 'f16'] as const) {
    cases.push(...elementwiseCases(dtype, quick ? 1 << 20 : 1 << 24));
    cases.push(softmaxCase(dtype, quick ? 1024 : 4096, 1024));
    cases.push(...rmsNormCases(dtype, quick ? 256 : 2048, 4096));
    cases.push(...crossEntropyCases(dtype, quick ? 32 : 512, 32000));
  }
  return cases;
}
