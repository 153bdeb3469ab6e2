// The GEMM around every block edge of its tiling (micro-tile 4x8, k slices of at
// most 384, 64-row A blocks, 128-column B panels, 256-row tasks), sizes 0 and 1,
// every transpose combination and broadcast batches, against the CPU reference
// (f64 accumulation); and two threads splitting every call give the same bits as one.

import { describe, expect, it } from 'vitest';
import type { Backend, BackendBuffer } from '../../src/backends/backend.js';
import { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { encodeF16Array, decodeF16Array } from '../../src/tensor/f16.js';
import { normals } from '../webgpu/helpers/cpu-oracle.js';
import { openWasm } from './wasm-fixture.js';

interface Shape { batch: number; m: number; n: number; k: number; aT: boolean; bT: boolean; aBroadcast: boolean; bBroadcast: boolean; dtype: 'f32' | 'f16' }

const EDGES: [number, number, number][] = [
  [1, 1, 1], [0, 5, 3], [5, 0, 3], [5, 3, 0], [1, 1, 0], [3, 7, 5], [4, 8, 4], [5, 9, 5], [63, 127, 383], [64, 128, 384],
  [65, 129, 385], [1, 300, 20], [300, 1, 20], [257, 130, 9], [256, 256, 770], [7, 17, 1000],
];
const SHAPES: Shape[] = [];
for (const [i, [m, n, k]] of EDGES.entries()) {
  for (const aT of [false, true]) for (const bT of [false, true]) {
    SHAPES.push({ batch: 1, m, n, k, aT, bT, aBroadcast: false, bBroadcast: false, dtype: 'f32' });
  }
  // Batches with one operand broadcast, alternating which.
  SHAPES.push({ batch: 3, m, n, k, aT: i % 2 === 0, bT: i % 3 === 0, aBroadcast: i % 2 === 0, bBroadcast: i % 2 === 1, dtype: 'f32' });
  if (m * n * k < 2e6) SHAPES.push({ batch: 2, m, n, k, aT: i % 2 === 1, bT: i % 2 === 0, aBroadcast: false, bBroadcast: false, dtype: 'f16' });
}
SHAPES.push({ batch: 0, m: 4, n: 4, k: 4, aT: false, bT: false, aBroadcast: false, bBroadcast: false, dtype: 'f32' });

const label = (s: Shape) => `${s.dtype} batch ${s.batch}${s.aBroadcast ? ' (a broadcast)' : ''}${s.bBroadcast ? ' (b broadcast)' : ''}, ` +
  `(${s.m}x${s.k})${s.aT ? 'ᵀ' : ''} @ (${s.k}x${s.n})${s.bT ? 'ᵀ' : ''}`;

function inputs(s: Shape): { a: number[]; b: number[] } {
  const aCount = (s.aBroadcast ? 1 : s.batch) * s.m * s.k;
  const bCount = (s.bBroadcast ? 1 : s.batch) * s.k * s.n;
  return { a: normals(aCount, s.m * 1000 + s.k, s.dtype), b: normals(bCount, s.n * 1000 + s.k + 7, s.dtype) };
}

async function run(backend: Backend, s: Shape, a: number[], b: number[], abs = false): Promise<Float64Array> {
  const dtype = backend instanceof CpuBackend ? 'f64' : s.dtype;
  const upload = (values: number[]): BackendBuffer => {
    const buf = backend.alloc(dtype, Math.max(1, values.length));
    const v = abs ? values.map(Math.abs) : values;
    if (v.length > 0) backend.write(buf, dtype === 'f16' ? encodeF16Array(v) : dtype === 'f32' ? Float32Array.from(v) : Float64Array.from(v));
    return buf;
  };
  const ab = upload(a);
  const bb = upload(b);
  const out = backend.alloc(dtype, Math.max(1, s.batch * s.m * s.n));
  backend.fill(out, NaN);
  backend.matmul({ batch: s.batch, m: s.m, n: s.n, k: s.k },
    { buffer: ab, offset: 0, batchStride: s.aBroadcast ? 0 : s.m * s.k, transposed: s.aT },
    { buffer: bb, offset: 0, batchStride: s.bBroadcast ? 0 : s.k * s.n, transposed: s.bT }, out);
  const host = await backend.read(out);
  const values = dtype === 'f16' ? decodeF16Array(host as Uint16Array) : (host as Float32Array | Float64Array);
  const result = Float64Array.from(values).subarray(0, s.batch * s.m * s.n);
  for (const buf of [ab, bb, out]) backend.free(buf);
  return result;
}

const one = await openWasm(1);
const two = await openWasm(2, true);
const cpu = new CpuBackend();

describe('wasm GEMM: odd shapes against the CPU reference, 1 and 2 threads identical', () => {
  for (const s of SHAPES) {
    it(label(s), async () => {
      const { a, b } = inputs(s);
      const expected = await run(cpu, s, a, b);
      const magnitude = await run(cpu, s, a, b, true); // sum |a||b| per element: the error scale of a k-term sum
      const got = await run(one, s, a, b);
      const rtol = s.dtype === 'f16' ? 2e-3 : 1e-5;
      expect(got.length).toBe(s.batch * s.m * s.n);
      for (let i = 0; i < got.length; i++) {
        // f16 outputs round once more: half an f16 ulp of the value on top.
        const bound = 1e-7 + rtol * magnitude[i] + (s.dtype === 'f16' ? Math.abs(expected[i]) * 2 ** -11 : 0);
        if (!(Math.abs(got[i] - expected[i]) <= bound)) expect.fail(`element ${i}: got ${got[i]}, expected ${expected[i]} (bound ${bound})`);
      }
      const parallel = await run(two, s, a, b);
      expect(Buffer.from(parallel.buffer, parallel.byteOffset, parallel.byteLength).equals(Buffer.from(got.buffer, got.byteOffset, got.byteLength))).toBe(true);
    }, 60_000);
  }
});
