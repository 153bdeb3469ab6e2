// Elementwise kernels: one thread per output element, operands read through
// strided (possibly broadcast) layouts. Covers unary and binary maps, cast,
// dense copies, fill and accumulate; strided destinations are in copy-into.ts.

import type { BackendBuffer, BinaryOp, StridedInput, UnaryOp } from '../../backend.js';
import { collapse } from '../layout.js';
import { isNanExpression } from './helpers.js';
import { IndexSpace } from './index-space.js';
import { ProgramBuilder, type KernelCall } from './program.js';
import { storeExpression, storeKey } from './store.js';

interface Operand {
  readonly name: string;
  readonly input: StridedInput;
}

/**
 * out (dense over `shape`) = store(expression of the operands' values). The
 * expression sees each operand as a local named `v_<name>`.
 */
function mapCall(
  key: string, shape: readonly number[], operands: readonly Operand[], out: BackendBuffer,
  expression: (b: ProgramBuilder) => string,
): KernelCall {
  const collapsed = collapse(shape, operands.map((o) => o.input));
  const b = new ProgramBuilder(`${key}|${storeKey(out.dtype)}`);
  const space = new IndexSpace(b, 'n', collapsed.shape);
  const loads = operands.map((o, j) => {
    const array = b.array(o.name, o.input.buffer);
    return `  const v_${o.name} = ${array}[${space.offset(o.name, collapsed.layouts[j])}];`;
  });
  const body = `${loads.join('\n')}\n  return ${storeExpression(b, out.dtype, expression(b))};`;
  return b.build(body, space.output);
}

const UNARY_EXPRESSIONS: Record<Exclude<UnaryOp, 'powScalar'>, string> = {
  neg: '-v_x',
  exp: 'Math.exp(v_x)',
  log: 'Math.log(v_x)',
  sqrt: 'Math.sqrt(v_x)',
  rsqrt: '1 / Math.sqrt(v_x)',
  sigmoid: '1 / (1 + Math.exp(-v_x))',
  silu: 'v_x / (1 + Math.exp(-v_x))',
  abs: 'Math.abs(v_x)',
  sin: 'Math.sin(v_x)',
  cos: 'Math.cos(v_x)',
  square: 'v_x * v_x',
  reciprocal: '1 / v_x',
  relu: '(v_x > 0 ? v_x : 0)',
  addScalar: 'v_x + c',
  mulScalar: 'v_x * c',
};

/**
 * x^c as JavaScript defines it: WGSL's pow is undefined for a negative base, so
 * the magnitude is raised and the sign restored for integer exponents; a
 * negative base with a fractional exponent gives NaN (through sqrt of it).
 */
const POW_EXPRESSION =
  '(v_x < 0 ? (Math.floor(c) === c ? (c - Math.floor(c * 0.5) * 2 > 0.5 ? -Math.pow(-v_x, c) : Math.pow(-v_x, c)) : Math.sqrt(v_x)) : Math.pow(v_x, c))';

export function unaryCall(op: UnaryOp, shape: readonly number[], x: StridedInput, out: BackendBuffer, scalar: number): KernelCall {
  const usesScalar = op === 'addScalar' || op === 'mulScalar' || op === 'powScalar';
  return mapCall(`unary.${op}`, shape, [{ name: 'x', input: x }], out, (b) => {
    if (usesScalar) b.float('c', scalar);
    return op === 'powScalar' ? POW_EXPRESSION : UNARY_EXPRESSIONS[op];
  });
}

const BINARY_EXPRESSIONS: Record<BinaryOp, string> = {
  add: 'v_a + v_b',
  sub: 'v_a - v_b',
  mul: 'v_a * v_b',
  div: 'v_a / v_b',
  // NaN-propagating like torch.maximum/minimum; a + b is NaN when either is.
  maximum: `(${isNanExpression('v_a')} || ${isNanExpression('v_b')} ? v_a + v_b : (v_a >= v_b ? v_a : v_b))`,
  minimum: `(${isNanExpression('v_a')} || ${isNanExpression('v_b')} ? v_a + v_b : (v_a <= v_b ? v_a : v_b))`,
  eq: '(v_a === v_b ? 1 : 0)',
  gt: '(v_a > v_b ? 1 : 0)',
};

export function binaryCall(op: BinaryOp, shape: readonly number[], a: StridedInput, b: StridedInput, out: BackendBuffer): KernelCall {
  return mapCall(`binary.${op}`, shape, [{ name: 'a', input: a }, { name: 'b', input: b }], out, () => BINARY_EXPRESSIONS[op]);
}

/** Dense out = x converted to out.dtype (also a same-dtype gather into a dense buffer). */
export function castCall(shape: readonly number[], x: StridedInput, out: BackendBuffer): KernelCall {
  return mapCall('cast', shape, [{ name: 'x', input: x }], out, () => 'v_x');
}

export function fillCall(out: BackendBuffer, value: number): KernelCall {
  return mapCall('fill', [out.numel], [], out, (b) => b.float('value', value));
}

/** out = dst + src, dense (the caller writes `out` back over `dst`). */
export function accumulateCall(dst: BackendBuffer, src: BackendBuffer, numel: number, out: BackendBuffer): KernelCall {
  const dense = (buffer: BackendBuffer): StridedInput => ({ buffer, offset: 0, strides: [1] });
  return mapCall('accumulate', [numel], [{ name: 'd', input: dense(dst) }, { name: 's', input: dense(src) }], out, () => 'v_d + v_s');
}
