// The GEMM converts f16 operands to f32 while packing (vectorised for full
// panels, scalar at the edges). Every one of the 65536 f16 bit patterns goes
// through each operand layout as x * 1 + 0 + 0 + 0 and must come out as itself
// (NaN as NaN; a negative zero may come out as +0, which compares equal).

import { describe, expect, it } from 'vitest';
import type { BackendBuffer } from '../../src/backends/backend.js';
import { decodeF16Array, encodeF16Array } from '../../src/tensor/f16.js';
import { openWasm } from './wasm-fixture.js';

const backend = await openWasm(2, true);
const N = 65536;
const patterns = Uint16Array.from({ length: N }, (_, i) => i);
const expected = decodeF16Array(patterns);
const one = encodeF16Array([1])[0];

function upload(bits: Uint16Array): BackendBuffer {
  const b = backend.alloc('f16', bits.length);
  backend.write(b, bits);
  return b;
}

/** (N, 4) row-major with each row [pattern, 0, 0, 0], or its transpose (4, N) with row 0 the patterns. */
function patternMatrix(transposedStorage: boolean): Uint16Array {
  const m = new Uint16Array(4 * N);
  for (let i = 0; i < N; i++) m[transposedStorage ? i : 4 * i] = patterns[i];
  return m;
}

async function check(label: string, run: (out: BackendBuffer) => void): Promise<void> {
  const out = backend.alloc('f16', N);
  backend.fill(out, 7);
  run(out);
  const got = decodeF16Array((await backend.read(out)) as Uint16Array);
  backend.free(out);
  for (let i = 0; i < N; i++) {
    const e = expected[i];
    if (Number.isNaN(e) ? !Number.isNaN(got[i]) : got[i] !== e) expect.fail(`${label}: pattern 0x${i.toString(16)} gave ${got[i]}, expected ${e}`);
  }
}

describe('wasm GEMM: f16 operands convert exactly', () => {
  const unit = upload(Uint16Array.from([one, 0, 0, 0]));
  for (const transposed of [false, true]) {
    it(`as B (${transposed ? 'stored transposed' : 'row-major'}): (1x4) @ (4xN)`, async () => {
      const b = upload(patternMatrix(!transposed));
      await check('B', (out) => backend.matmul({ batch: 1, m: 1, n: N, k: 4 },
        { buffer: unit, offset: 0, batchStride: 0, transposed: false }, { buffer: b, offset: 0, batchStride: 0, transposed }, out));
      backend.free(b);
    });
    it(`as A (${transposed ? 'stored transposed' : 'row-major'}): (Nx4) @ (4x1)`, async () => {
      const a = upload(patternMatrix(transposed));
      await check('A', (out) => backend.matmul({ batch: 1, m: N, n: 1, k: 4 },
        { buffer: a, offset: 0, batchStride: 0, transposed }, { buffer: unit, offset: 0, batchStride: 0, transposed: false }, out));
      backend.free(a);
    });
  }
});
