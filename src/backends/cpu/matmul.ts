// Cache-blocked batched matmul over dense operands. Each operand is first
// packed into a row-major scratch matrix (this also resolves transposes and
// decodes f16), then C = A @ B runs as an i-k-j loop over blocks that fit in
// cache, accumulating in f64 (JS numbers) and rounding once on store.

import type { MatmulDims, MatmulOperand } from '../backend.js';
import { outputSink, readValues, type NumericArray } from './cpu-buffer.js';
import type { BackendBuffer } from '../backend.js';

const ROW_BLOCK = 32;
const K_BLOCK = 128;
const COL_BLOCK = 256;

/** Copies matrix `batchIndex` of an operand into a dense row-major (rows, cols) array. */
function packOperand(
  values: NumericArray, operand: MatmulOperand, batchIndex: number, rows: number, cols: number, into: Float64Array | Float32Array,
): void {
  const base = operand.offset + batchIndex * operand.batchStride;
  if (!operand.transposed) {
    for (let i = 0; i < rows * cols; i++) into[i] = values[base + i];
    return;
  }
  // Stored as (cols, rows): element (r, c) lives at c * rows + r.
  for (let c = 0; c < cols; c++) {
    const src = base + c * rows;
    for (let r = 0; r < rows; r++) into[r * cols + c] = values[src + r];
  }
}

export function cpuMatmul(dims: MatmulDims, a: MatmulOperand, b: MatmulOperand, out: BackendBuffer): void {
  const { batch, m, n, k } = dims;
  const aValues = readValues(a.buffer, 'matmul a');
  const bValues = readValues(b.buffer, 'matmul b');
  const sink = outputSink(out, 'matmul out');
  const wide = out.dtype === 'f64';
  const packedA = wide ? new Float64Array(m * k) : new Float32Array(m * k);
  const packedB = wide ? new Float64Array(k * n) : new Float32Array(k * n);
  const acc = new Float64Array(m * n);
  for (let bi = 0; bi < batch; bi++) {
    packOperand(aValues, a, bi, m, k, packedA);
    packOperand(bValues, b, bi, k, n, packedB);
    acc.fill(0);
    for (let i0 = 0; i0 < m; i0 += ROW_BLOCK) {
      const i1 = Math.min(i0 + ROW_BLOCK, m);
      for (let p0 = 0; p0 < k; p0 += K_BLOCK) {
        const p1 = Math.min(p0 + K_BLOCK, k);
        for (let j0 = 0; j0 < n; j0 += COL_BLOCK) {
          const j1 = Math.min(j0 + COL_BLOCK, n);
          for (let i = i0; i < i1; i++) {
            const accRow = i * n;
            const aRow = i * k;
            let p = p0;
            // Four rows of B per pass: each accumulator element is loaded and stored once per 4 products.
            for (; p + 3 < p1; p += 4) {
              const a0 = packedA[aRow + p];
              const a1 = packedA[aRow + p + 1];
              const a2 = packedA[aRow + p + 2];
              const a3 = packedA[aRow + p + 3];
              const b0 = p * n;
              const b1 = b0 + n;
              const b2 = b1 + n;
              const b3 = b2 + n;
              for (let j = j0; j < j1; j++) {
                acc[accRow + j] += a0 * packedB[b0 + j] + a1 * packedB[b1 + j] + a2 * packedB[b2 + j] + a3 * packedB[b3 + j];
              }
            }
            for (; p < p1; p++) {
              const av = packedA[aRow + p];
              const bRow = p * n;
              for (let j = j0; j < j1; j++) acc[accRow + j] += av * packedB[bRow + j];
            }
          }
        }
      }
    }
    const outBase = bi * m * n;
    const values = sink.values;
    for (let i = 0; i < m * n; i++) values[outBase + i] = acc[i];
  }
  sink.commit();
}
