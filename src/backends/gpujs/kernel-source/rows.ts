// Row gather (embedding lookup) and row scatter-add (its backward). i32
// indices are stored as exact f32 integers and converted with `| 0`.
//
// gpu.js has no scattered writes or atomics: every thread computes its own
// output element. Scatter-add therefore runs one thread per element of the
// (rows, cols) destination, each scanning the n indices for its row: work
// rows * cols * n, fine for the vocabularies a gpu.js model trains with, and
// exact in order (sums run in index order like the CPU reference).

import type { BackendBuffer } from '../../backend.js';
import { loopIndex } from './helpers.js';
import { ProgramBuilder, type KernelCall } from './program.js';
import { notANumber, storeExpression, storeKey } from './store.js';

/** out (n, cols) = table[indices[i]]; an index outside [0, rows) yields NaN rows (kernels cannot throw). */
export function gatherRowsCall(table: BackendBuffer, rows: number, cols: number, indices: BackendBuffer, n: number, out: BackendBuffer): KernelCall {
  const b = new ProgramBuilder(`gatherRows|${storeKey(out.dtype)}`);
  const T = b.array('table', table);
  const idx = b.array('indices', indices);
  const R = b.int('rows', rows);
  const C = b.int('cols', cols);
  const nan = notANumber(b);
  const row = `(${idx}[idiv(this.thread.x, ${C})] | 0)`;
  const body = [
    `  const value = ${T}[iclamp(${row}, ${R}) * ${C} + imod(this.thread.x, ${C})];`,
    `  if (${row} >= 0 && ${row} < ${R}) { return ${storeExpression(b, out.dtype, 'value')}; }`,
    `  return ${nan};`,
  ].join('\n');
  return b.build(body, n * cols);
}

/** out (rows, cols) = old + sum of src rows i with indices[i] == row; indices outside [0, rows) are skipped. */
export function scatterAddRowsCall(src: BackendBuffer, indices: BackendBuffer, n: number, cols: number, old: BackendBuffer, rows: number, out: BackendBuffer): KernelCall {
  const b = new ProgramBuilder(`scatterAddRows|${storeKey(out.dtype)}`);
  const S = b.array('src', src);
  const idx = b.array('indices', indices);
  const O = b.array('old', old);
  const C = b.int('cols', cols);
  const N = b.int('count', n);
  const body = [
    `  let acc = ${O}[this.thread.x];`,
    `  for (let i = 0; i < ${N}; i++) {`,
    `    if ((${idx}[${loopIndex('i')}] | 0) === idiv(this.thread.x, ${C})) { acc += ${S}[${loopIndex('i')} * ${C} + imod(this.thread.x, ${C})]; }`,
    '  }',
    `  return ${storeExpression(b, out.dtype, 'acc')};`,
  ].join('\n');
  return b.build(body, rows * cols);
}
