// Batched matmul: one thread per output element (batch, row, col) runs the
// dot product over k in f32. Transposes and batch broadcasting are strides
// passed as arguments, so one compiled kernel covers every combination.
//
// The output is a gpu.js 3-D grid (x = col, y = row, z = batch), so index math
// needs no division and, in webasm's SIMD code, the A operand's row is shared
// by the four lanes of a quad (one load instead of four). Shapes beyond
// WebGPU's dispatch limits use a flat variant with exact i32 division.

import type { BackendBuffer, MatmulDims, MatmulOperand } from '../../backend.js';
import { loopIndex } from './helpers.js';
import { gridFits, hoistedIndex, NARROW_INDEX_LIMIT, narrowKey } from './index-space.js';
import { ProgramBuilder, type KernelCall } from './program.js';
import { storeExpression, storeKey } from './store.js';

export function matmulCall(dims: MatmulDims, a: MatmulOperand, bOperand: MatmulOperand, out: BackendBuffer): KernelCall {
  const { batch, m, n, k } = dims;
  const grid = gridFits(n, m, batch);
  const narrow = Math.max(a.buffer.numel, bOperand.buffer.numel) <= NARROW_INDEX_LIMIT;
  const b = new ProgramBuilder(`matmul|${storeKey(out.dtype)}|${grid ? 'grid' : `flat|${narrowKey(narrow)}`}`);
  const A = b.array('a', a.buffer);
  const B = b.array('b', bOperand.buffer);
  const cols = b.int('n', n);
  const rows = b.int('m', m);
  const depth = b.int('k', k);
  // Element (r, p) of A sits at r * rowStride + p * depthStride; transposed storage swaps them.
  const aRow = b.int('aR', a.transposed ? 1 : k);
  const bCol = b.int('bC', bOperand.transposed ? k : 1);
  const aStep = b.int('aP', a.transposed ? m : 1);
  const bStep = b.int('bP', bOperand.transposed ? 1 : n);
  const [batchIndex, row, col] = grid
    ? ['this.thread.z', 'this.thread.y', 'this.thread.x']
    : [`idiv(this.thread.x, ${b.int('mn', m * n)})`, `axisIndex(this.thread.x, ${cols}, ${rows})`, `imod(this.thread.x, ${cols})`];
  const aStart = `(${b.int('aO', a.offset)} + ${batchIndex} * ${b.int('aB', a.batchStride)} + ${row} * ${aRow})`;
  const bStart = `(${b.int('bO', bOperand.offset)} + ${batchIndex} * ${b.int('bB', bOperand.batchStride)} + ${col} * ${bCol})`;
  // On the grid the start offsets are plain i32 expressions; the flat variant computes them once per
  // thread into f32 locals when every index is exact in f32.
  const aBase = grid ? { declaration: '', reference: aStart } : hoistedIndex('aBase', aStart, narrow);
  const bBase = grid ? { declaration: '', reference: bStart } : hoistedIndex('bBase', bStart, narrow);
  const body = [
    aBase.declaration,
    bBase.declaration,
    '  let acc = 0;',
    `  for (let p = 0; p < ${depth}; p++) {`,
    `    acc += ${A}[${aBase.reference} + ${loopIndex('p')} * ${aStep}] * ${B}[${bBase.reference} + ${loopIndex('p')} * ${bStep}];`,
    '  }',
    `  return ${storeExpression(b, out.dtype, 'acc')};`,
  ].filter((line) => line !== '').join('\n');
  return b.build(body, grid ? [n, m, batch] : [batch * m * n]);
}
