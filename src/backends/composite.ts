// Composite defaults: every fused kernel written with core kernels only, so a
// new backend runs the whole engine once its core works. A backend overrides a
// fused kernel when its own is faster or saves memory; the conformance suite
// checks both against the same reference. Scratch memory comes from the
// caller's allocator so the memory ledger sees it. f16 inputs are widened to
// f32 first, because these kernels must compute in at least f32.

import type { DType, HostArray } from '../tensor/dtype.js';
import { allocHostArray } from '../tensor/dtype.js';
import { f64ToF16Bits } from '../tensor/f16.js';
import { contiguousStrides } from '../tensor/shape.js';
import type {
  AdamWHyper, Backend, BackendBuffer, BinaryOp, FusedKernels, KernelSet, ScratchAllocator, StridedInput, UnaryOp,
} from './backend.js';

type Core = Backend;

export function dense(buffer: BackendBuffer, shape: readonly number[], offset = 0): StridedInput {
  return { buffer, offset, strides: contiguousStrides(shape) };
}

/** A strided view of `buffer` with explicit strides (0 broadcasts). */
export function view(buffer: BackendBuffer, strides: readonly number[], offset = 0): StridedInput {
  return { buffer, offset, strides };
}

/** Scratch helpers bound to one kernel invocation; everything is freed at the end. */
export class Scratch {
  private readonly held: BackendBuffer[] = [];
  constructor(private readonly core: Core, private readonly allocator: ScratchAllocator) {}

  alloc(dtype: DType, numel: number): BackendBuffer {
    const b = this.allocator.alloc(dtype, numel);
    this.held.push(b);
    return b;
  }

  /** A scratch buffer holding host data. */
  upload(dtype: DType, data: HostArray): BackendBuffer {
    const b = this.alloc(dtype, data.length);
    this.core.write(b, data);
    return b;
  }

  constant(dtype: DType, value: number): BackendBuffer {
    const b = this.alloc(dtype, 1);
    this.core.fill(b, value);
    return b;
  }

  /** A dense copy in `dtype` (the buffer itself when it already has it). */
  widen(buffer: BackendBuffer, dtype: DType): BackendBuffer {
    if (buffer.dtype === dtype) return buffer;
    const out = this.alloc(dtype, buffer.numel);
    this.core.cast([buffer.numel], dense(buffer, [buffer.numel]), out);
    return out;
  }

  unary(op: UnaryOp, shape: readonly number[], x: StridedInput, scalar = 0): BackendBuffer {
    const out = this.alloc(x.buffer.dtype, shape.reduce((a, b) => a * b, 1));
    this.core.unary(op, shape, x, out, scalar);
    return out;
  }

  binary(op: BinaryOp, shape: readonly number[], a: StridedInput, b: StridedInput): BackendBuffer {
    const out = this.alloc(a.buffer.dtype, shape.reduce((p, d) => p * d, 1));
    this.core.binary(op, shape, a, b, out);
    return out;
  }

  reduce(op: 'sum' | 'max', shape: readonly number[], x: StridedInput, axis: number): BackendBuffer {
    const out = this.alloc(x.buffer.dtype, shape.reduce((p, d, i) => (i === axis ? p : p * d), 1));
    this.core.reduce(op, shape, x, axis, out);
    return out;
  }

  /** Writes a dense `src` into `dst` (casting if the dtypes differ). */
  store(src: BackendBuffer, dst: BackendBuffer): void {
    const shape = [dst.numel];
    if (src.dtype === dst.dtype) this.core.copy(shape, dense(src, shape), dst, dense(dst, shape));
    else this.core.cast(shape, dense(src, shape), dst);
  }

  release(): void {
    for (const b of this.held) this.allocator.free(b);
    this.held.length = 0;
  }
}

const wideDType = (dtype: DType): DType => (dtype === 'f16' ? 'f32' : dtype);

export function compositeFusedKernels(core: Core, allocator: ScratchAllocator): FusedKernels {
  const withScratch = <T>(fn: (s: Scratch) => T): T => {
    const s = new Scratch(core, allocator);
    try { return fn(s); } finally { s.release(); }
  };

  return {
    softmax(x, rows, cols, log, out) {
      withScratch((s) => {
        const shape = [rows, cols];
        const xw = s.widen(x, wideDType(x.dtype));
        const max = s.reduce('max', shape, dense(xw, shape), 1);
        const shifted = s.binary('sub', shape, dense(xw, shape), view(max, [1, 0]));
        const e = s.unary('exp', shape, dense(shifted, shape));
        const sum = s.reduce('sum', shape, dense(e, shape), 1);
        const result = log
          ? s.binary('sub', shape, dense(shifted, shape), view(s.unary('log', [rows], dense(sum, [rows])), [1, 0]))
          : s.binary('div', shape, dense(e, shape), view(sum, [1, 0]));
        s.store(result, out);
      });
    },

    softmaxBackward(y, g, rows, cols, log, gx) {
      withScratch((s) => {
        const shape = [rows, cols];
        const wd = wideDType(y.dtype);
        const yw = s.widen(y, wd);
        const gw = s.widen(g, wd);
        let result: BackendBuffer;
        if (log) {
          const gsum = s.reduce('sum', shape, dense(gw, shape), 1);
          const p = s.unary('exp', shape, dense(yw, shape));
          const pg = s.binary('mul', shape, dense(p, shape), view(gsum, [1, 0]));
          result = s.binary('sub', shape, dense(gw, shape), dense(pg, shape));
        } else {
          const gy = s.binary('mul', shape, dense(gw, shape), dense(yw, shape));
          const dot = s.reduce('sum', shape, dense(gy, shape), 1);
          const centered = s.binary('sub', shape, dense(gw, shape), view(dot, [1, 0]));
          result = s.binary('mul', shape, dense(yw, shape), dense(centered, shape));
        }
        s.store(result, gx);
      });
    },

    rmsNorm(x, w, rows, cols, eps, y, rstd) {
      withScratch((s) => {
        const shape = [rows, cols];
        const wd = wideDType(x.dtype);
        const xw = s.widen(x, wd);
        const sq = s.unary('square', shape, dense(xw, shape));
        const ss = s.reduce('sum', shape, dense(sq, shape), 1);
        const meanEps = s.unary('addScalar', [rows], dense(s.unary('mulScalar', [rows], dense(ss, [rows]), 1 / cols), [rows]), eps);
        const r = s.unary('rsqrt', [rows], dense(meanEps, [rows]));
        s.store(r, rstd);
        const rStored = s.widen(rstd, wd);
        // Normalize wide, round to the input dtype (Meta's type_as), then scale in y's dtype.
        const normWide = s.binary('mul', shape, dense(xw, shape), view(rStored, [1, 0]));
        const normRounded = s.widen(s.widen(normWide, x.dtype), y.dtype);
        const weight = s.widen(w, y.dtype);
        const result = s.binary('mul', shape, dense(normRounded, shape), view(weight, [0, 1]));
        s.store(result, y);
      });
    },

    rmsNormBackward(x, w, rstd, g, rows, cols, gx, gw) {
      withScratch((s) => {
        const shape = [rows, cols];
        const wd = wideDType(x.dtype);
        const xw = s.widen(x, wd);
        const ww = s.widen(w, wd);
        const rw = s.widen(rstd, wd);
        const gwide = s.widen(g, wd);
        const n = s.binary('mul', shape, dense(xw, shape), view(rw, [1, 0]));
        const gn = s.binary('mul', shape, dense(gwide, shape), view(ww, [0, 1]));
        const dot = s.unary('mulScalar', [rows], dense(s.reduce('sum', shape, dense(s.binary('mul', shape, dense(gn, shape), dense(n, shape)), shape), 1), [rows]), 1 / cols);
        const centered = s.binary('sub', shape, dense(gn, shape), dense(s.binary('mul', shape, dense(n, shape), view(dot, [1, 0])), shape));
        s.store(s.binary('mul', shape, dense(centered, shape), view(rw, [1, 0])), gx);
        const gwRows = s.binary('mul', shape, dense(gwide, shape), dense(n, shape));
        s.store(s.reduce('sum', shape, dense(gwRows, shape), 0), gw);
      });
    },

    rotary(x, cos, sin, batch, seq, heads, headDim, inverse, out) {
      withScratch((s) => {
        const half = headDim / 2;
        const wd = wideDType(x.dtype);
        const xw = s.widen(x, wd);
        const c = s.widen(cos, wd);
        const sn = s.widen(sin, wd);
        // x viewed as (B, S, H, half) twice: even and odd elements of each pair.
        const shape = [batch, seq, heads, half];
        const pairStrides = [seq * heads * headDim, heads * headDim, headDim, 2];
        const x0 = view(xw, pairStrides, 0);
        const x1 = view(xw, pairStrides, 1);
        const tableStrides = [0, half, 0, 1];
        const cv = view(c, tableStrides);
        const sv = view(sn, tableStrides);
        const d = (b: BackendBuffer) => dense(b, shape);
        const x0c = s.binary('mul', shape, x0, cv);
        const x1s = s.binary('mul', shape, x1, sv);
        const x0s = s.binary('mul', shape, x0, sv);
        const x1c = s.binary('mul', shape, x1, cv);
        // forward: (x0 c - x1 s, x0 s + x1 c); inverse rotates by -angle.
        const even = s.binary(inverse ? 'add' : 'sub', shape, d(x0c), d(x1s));
        const odd = inverse ? s.binary('sub', shape, d(x1c), d(x0s)) : s.binary('add', shape, d(x0s), d(x1c));
        const interleaved = s.alloc(wd, x.numel);
        core.copy(shape, d(even), interleaved, { offset: 0, strides: pairStrides });
        core.copy(shape, d(odd), interleaved, { offset: 1, strides: pairStrides });
        s.store(interleaved, out);
      });
    },

    siluMul(a, b, numel, out) {
      withScratch((s) => {
        const shape = [numel];
        const act = s.unary('silu', shape, dense(a, shape));
        s.store(s.binary('mul', shape, dense(act, shape), dense(b, shape)), out);
      });
    },

    siluMulBackward(a, b, g, numel, ga, gb) {
      withScratch((s) => {
        const shape = [numel];
        const d = (x: BackendBuffer) => dense(x, shape);
        const wd = wideDType(a.dtype);
        const aw = s.widen(a, wd);
        const bw = s.widen(b, wd);
        const gwide = s.widen(g, wd);
        const sig = s.unary('sigmoid', shape, d(aw));
        // silu'(a) = sig * (1 + a * (1 - sig))
        const oneMinus = s.unary('addScalar', shape, d(s.unary('neg', shape, d(sig))), 1);
        const inner = s.unary('addScalar', shape, d(s.binary('mul', shape, d(aw), d(oneMinus))), 1);
        const dsilu = s.binary('mul', shape, d(sig), d(inner));
        s.store(s.binary('mul', shape, d(s.binary('mul', shape, d(gwide), d(bw))), d(dsilu)), ga);
        s.store(s.binary('mul', shape, d(gwide), d(s.binary('mul', shape, d(aw), d(sig)))), gb);
      });
    },

    crossEntropy(logits, labels, rows, cols, ignoreIndex, loss, lse) {
      withScratch((s) => {
        const shape = [rows, cols];
        const wd = wideDType(logits.dtype);
        const x = s.widen(logits, wd);
        const { onehot, valid } = labelMasks(s, labels, rows, cols, ignoreIndex, wd);
        const max = s.reduce('max', shape, dense(x, shape), 1);
        const e = s.unary('exp', shape, dense(s.binary('sub', shape, dense(x, shape), view(max, [1, 0])), shape));
        const logSumExp = s.binary('add', [rows], dense(s.unary('log', [rows], dense(s.reduce('sum', shape, dense(e, shape), 1), [rows])), [rows]), dense(max, [rows]));
        s.store(logSumExp, lse);
        const picked = s.reduce('sum', shape, dense(s.binary('mul', shape, dense(x, shape), dense(onehot, shape)), shape), 1);
        const perRow = s.binary('mul', [rows], dense(s.binary('sub', [rows], dense(logSumExp, [rows]), dense(picked, [rows])), [rows]), dense(valid, [rows]));
        s.store(perRow, loss);
      });
    },

    crossEntropyBackward(logits, lse, labels, gRow, rows, cols, ignoreIndex, gLogits) {
      withScratch((s) => {
        const shape = [rows, cols];
        const wd = wideDType(logits.dtype);
        const x = s.widen(logits, wd);
        const { onehot, valid } = labelMasks(s, labels, rows, cols, ignoreIndex, wd);
        const p = s.unary('exp', shape, dense(s.binary('sub', shape, dense(x, shape), view(s.widen(lse, wd), [1, 0])), shape));
        const diff = s.binary('sub', shape, dense(p, shape), dense(onehot, shape));
        const scale = s.binary('mul', [rows], dense(s.widen(gRow, wd), [rows]), dense(valid, [rows]));
        s.store(s.binary('mul', shape, dense(diff, shape), view(scale, [1, 0])), gLogits);
      });
    },

    causalMask(x, batch, rows, cols, value, out) {
      withScratch((s) => {
        // keep (rows, cols) is 1 where col <= row + (cols - rows); fill is `value` elsewhere.
        const keepHost = hostArrayFor(x.dtype, rows * cols);
        const fillHost = hostArrayFor(x.dtype, rows * cols);
        const shift = cols - rows;
        for (let i = 0; i < rows; i++) {
          for (let j = 0; j < cols; j++) {
            const keep = j <= i + shift;
            keepHost.set(i * cols + j, keep ? 1 : 0);
            fillHost.set(i * cols + j, keep ? 0 : value);
          }
        }
        const keep = s.upload(x.dtype, keepHost.array);
        const fill = s.upload(x.dtype, fillHost.array);
        const shape = [batch, rows, cols];
        const masked = s.binary('mul', shape, dense(x, shape), view(keep, [0, cols, 1]));
        s.store(s.binary('add', shape, dense(masked, shape), view(fill, [0, cols, 1])), out);
      });
    },

    dropout(x, numel, p, seed, offset, out) {
      withScratch((s) => {
        const shape = [numel];
        const wd = wideDType(x.dtype);
        const u = s.alloc(wd, numel);
        core.random(u, 'uniform', seed, offset, 0, 1);
        // keep = (u >= p) = 1 - (p > u)
        const dropped = s.binary('gt', shape, view(s.constant(wd, p), [0]), dense(u, shape));
        const keep = s.unary('addScalar', shape, dense(s.unary('neg', shape, dense(dropped, shape)), shape), 1);
        const scaled = s.unary('mulScalar', shape, dense(s.widen(x, wd), shape), p >= 1 ? 0 : 1 / (1 - p));
        s.store(s.binary('mul', shape, dense(scaled, shape), dense(keep, shape)), out);
      });
    },

    adamw(param, grad, m, v, numel, h: AdamWHyper) {
      withScratch((s) => {
        const shape = [numel];
        const d = (b: BackendBuffer) => dense(b, shape);
        const g = s.widen(grad, param.dtype);
        // m = m + (1 - b1) (g - m)
        const mNew = s.binary('add', shape, d(m), d(s.unary('mulScalar', shape, d(s.binary('sub', shape, d(g), d(m))), 1 - h.beta1)));
        // v = b2 v + (1 - b2) g^2
        const vNew = s.binary('add', shape, d(s.unary('mulScalar', shape, d(v), h.beta2)), d(s.unary('mulScalar', shape, d(s.unary('square', shape, d(g))), 1 - h.beta2)));
        s.store(mNew, m);
        s.store(vNew, v);
        const biasCorrection2Sqrt = Math.sqrt(1 - h.beta2 ** h.step);
        const stepSize = h.lr / (1 - h.beta1 ** h.step);
        const denom = s.unary('addScalar', shape, d(s.unary('mulScalar', shape, d(s.unary('sqrt', shape, d(v))), 1 / biasCorrection2Sqrt)), h.eps);
        const update = s.unary('mulScalar', shape, d(s.binary('div', shape, d(m), d(denom))), stepSize);
        const decayed = s.unary('mulScalar', shape, d(param), 1 - h.lr * h.weightDecay);
        s.store(s.binary('sub', shape, d(decayed), d(update)), param);
      });
    },

    unscaleGrads(grad, numel, invScale, foundInf) {
      withScratch((s) => {
        const shape = [numel];
        const d = (b: BackendBuffer) => dense(b, shape);
        const wd = wideDType(grad.dtype);
        const g = s.widen(grad, wd);
        // g - g is 0 for finite g and NaN for inf/NaN; eq(NaN, NaN) is 0.
        const diff = s.binary('sub', shape, d(g), d(g));
        const finite = s.binary('eq', shape, d(diff), d(diff));
        const nonFinite = s.unary('addScalar', shape, d(s.unary('neg', shape, d(finite))), 1);
        const anyBad = s.reduce('max', shape, d(nonFinite), 0);
        const flag = s.widen(foundInf, wd);
        const merged = s.binary('maximum', [1], dense(flag, [1]), dense(s.widen(anyBad, wd), [1]));
        s.store(merged, foundInf);
        s.store(s.unary('mulScalar', shape, d(g), invScale), grad);
      });
    },
  };
}

/** onehot (rows, cols) and valid (rows) masks in `dtype` from i32 labels, without reading them back. */
function labelMasks(s: Scratch, labels: BackendBuffer, rows: number, cols: number, ignoreIndex: number, dtype: DType) {
  const labelsF = s.widen(labels, dtype);
  const iotaHost = hostArrayFor(dtype, cols);
  for (let c = 0; c < cols; c++) iotaHost.set(c, c);
  const iota = s.upload(dtype, iotaHost.array);
  const shape = [rows, cols];
  const onehot = s.binary('eq', shape, view(labelsF, [1, 0]), view(iota, [0, 1]));
  const ignored = s.binary('eq', [rows], dense(labelsF, [rows]), view(s.constant(dtype, ignoreIndex), [0]));
  const valid = s.unary('addScalar', [rows], dense(s.unary('neg', [rows], dense(ignored, [rows])), [rows]), 1);
  return { onehot, valid };
}

function hostArrayFor(dtype: DType, length: number) {
  const array = allocHostArray(dtype, length);
  return {
    array,
    set(i: number, v: number) { array[i] = dtype === 'f16' ? f64ToF16Bits(v) : v; },
  };
}

/** The backend with every missing fused kernel filled in from the composite defaults. */
export function withCompositeDefaults(backend: Backend, allocator: ScratchAllocator): KernelSet {
  const composite = compositeFusedKernels(backend, allocator);
  const fused = {} as FusedKernels;
  for (const name of Object.keys(composite) as (keyof FusedKernels)[]) {
    const own = backend[name];
    (fused as unknown as Record<string, unknown>)[name] = own ? own.bind(backend) : composite[name];
  }
  return Object.assign(Object.create(backend) as Backend, fused) as KernelSet;
}
