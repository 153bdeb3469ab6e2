// Strided copy into a destination that is not one dense block. gpu.js kernels
// write exactly one value per thread at the thread's own index, so the copy
// runs one thread per element of the whole destination buffer and asks, for
// its index j, whether the destination layout reaches j and from which
// element: with the layout's axes sorted by decreasing stride (a "nested"
// layout, see layout.ts), j - offset divides into per-axis indices in that
// order with nothing left over exactly when j belongs to the layout. Elements
// the layout does not reach keep their old value.

import type { BackendBuffer, StridedInput, StridedLayout } from '../../backend.js';
import { ProgramBuilder, type KernelCall } from './program.js';
import { storeExpression, storeKey } from './store.js';

/**
 * out (the whole destination buffer) = dst with the layout's elements replaced
 * by src's. `order` lists the axes of `shape` by decreasing destination stride
 * (size-1 axes left out).
 */
export function copyIntoCall(
  shape: readonly number[], src: StridedInput, dst: BackendBuffer, dstLayout: StridedLayout, order: readonly number[], out: BackendBuffer,
): KernelCall {
  const b = new ProgramBuilder(`copyInto|${storeKey(out.dtype)}|r${order.length}`);
  const source = b.array('src', src.buffer);
  const old = b.array('old', dst);
  const start = b.int('dO', dstLayout.offset);
  // rest_0 = j - offset; index_k = rest_k div stride_k; rest_{k+1} = rest_k mod stride_k.
  let rest = `(this.thread.x - ${start})`;
  const conditions = [`this.thread.x >= ${start}`];
  const srcTerms = [b.int('sO', src.offset)];
  order.forEach((axis, j) => {
    const stride = b.int(`dS${j}`, dstLayout.strides[axis]);
    const size = b.int(`n${j}`, shape[axis]);
    const index = `idiv(${rest}, ${stride})`;
    conditions.push(`${index} < ${size}`);
    // Clamped so the source load stays in bounds for threads outside the layout.
    srcTerms.push(`iclamp(${index}, ${size}) * ${b.int(`sS${j}`, src.strides[axis])}`);
    rest = `imod(${rest}, ${stride})`;
  });
  conditions.push(`${rest} === 0`);
  const body = [
    `  const fresh = ${source}[(${srcTerms.join(' + ')})];`,
    `  const kept = ${old}[this.thread.x];`,
    `  if (${conditions.join(' && ')}) { return ${storeExpression(b, out.dtype, 'fresh')}; }`,
    '  return kept;',
  ].join('\n');
  return b.build(body, dst.numel);
}
