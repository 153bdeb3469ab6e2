// Reduction over one axis: one thread per output element walks the reduced
// axis of its strided input. Sums accumulate in f32 and round once on store;
// max propagates NaN like the CPU reference.

import type { BackendBuffer, ReduceOp, StridedInput } from '../../backend.js';
import { collapse } from '../layout.js';
import { isNanExpression, loopIndex } from './helpers.js';
import { hoistedIndex, IndexSpace, NARROW_INDEX_LIMIT, narrowKey } from './index-space.js';
import { ProgramBuilder, type KernelCall } from './program.js';
import { infinity, storeExpression, storeKey } from './store.js';

export function reduceCall(op: ReduceOp, shape: readonly number[], x: StridedInput, axis: number, out: BackendBuffer): KernelCall {
  const keptShape = shape.filter((_, k) => k !== axis);
  const kept = collapse(keptShape, [{ offset: x.offset, strides: x.strides.filter((_, k) => k !== axis) }]);
  const narrow = x.buffer.numel <= NARROW_INDEX_LIMIT;
  const b = new ProgramBuilder(`reduce.${op}|${storeKey(out.dtype)}|${narrowKey(narrow)}`);
  const space = new IndexSpace(b, 'n', kept.shape);
  const input = b.array('x', x.buffer);
  const base = hoistedIndex('base', space.offset('x', kept.layouts[0]), narrow);
  const length = b.int('len', shape[axis]);
  const stride = b.int('step', x.strides[axis]);
  const start = op === 'sum' ? '0' : `-${infinity(b)}`;
  const update = op === 'sum' ? 'acc += v;' : `if (${isNanExpression('v')} || v > acc) { acc = v; }`;
  const body = [
    base.declaration,
    `  let acc = ${start};`,
    `  for (let r = 0; r < ${length}; r++) {`,
    `    const v = ${input}[${base.reference} + ${loopIndex('r')} * ${stride}];`,
    `    ${update}`,
    '  }',
    `  return ${storeExpression(b, out.dtype, 'acc')};`,
  ].join('\n');
  return b.build(body, space.output);
}
