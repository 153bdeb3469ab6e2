// Elementwise differentiable ops. Binary ops broadcast; their gradients are
// summed back to each input's shape.

import { binary, unary } from '../../tensor/kernel-ops.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defineOp } from '../differentiable-op.js';
import { sumToShape } from './reduce-to-shape.js';

const alias = (t: Tensor) => t.view(t.shape, t.strides, t.offset);

/** Applies f to t, then frees t: keeps chains of elementwise temporaries short-lived. */
function consume(t: Tensor, f: (t: Tensor) => Tensor): Tensor {
  const out = f(t);
  t.dispose();
  return out;
}

export const addOp = defineOp({
  name: 'add',
  saves: 'nothing',
  forward: ([a, b]) => ({ output: binary('add', a, b), state: { aShape: a.shape, bShape: b.shape } }),
  backward: (g, _s, { aShape, bShape }, needs) => [needs[0] ? sumToShape(g, aShape) : null, needs[1] ? sumToShape(g, bShape) : null],
});

export const subOp = defineOp({
  name: 'sub',
  saves: 'nothing',
  forward: ([a, b]) => ({ output: binary('sub', a, b), state: { aShape: a.shape, bShape: b.shape } }),
  backward: (g, _s, { aShape, bShape }, needs) => {
    const gb = needs[1] ? unary('neg', g) : null;
    return [needs[0] ? sumToShape(g, aShape) : null, gb ? sumToShape(gb, bShape) : null];
  },
});

export const mulOp = defineOp({
  name: 'mul',
  saves: 'b if a needs grad; a if b needs grad',
  forward: ([a, b], _attrs, needs) => ({
    output: binary('mul', a, b),
    // Each gradient needs the other operand only.
    saved: [needs[1] ? a : null, needs[0] ? b : null].filter((t): t is Tensor => t !== null),
    state: { aShape: a.shape, bShape: b.shape },
  }),
  backward: (g, saved, { aShape, bShape }, needs) => {
    const [first, second] = saved;
    const a = needs[1] ? first : undefined;
    const b = needs[0] ? (needs[1] ? second : first) : undefined;
    return [
      b ? sumToShape(binary('mul', g, b), aShape) : null,
      a ? sumToShape(binary('mul', g, a), bShape) : null,
    ];
  },
});

export const divOp = defineOp({
  name: 'div',
  saves: 'b, and the output if b needs grad',
  forward: ([a, b], _attrs, needs) => {
    const out = binary('div', a, b);
    return { output: out, saved: needs[1] ? [b, out] : [b], state: { aShape: a.shape, bShape: b.shape } };
  },
  backward: (g, saved, { aShape, bShape }, needs) => {
    const [b, out] = saved;
    const ga = binary('div', g, b);
    // d(a/b)/db = -(a/b)/b
    const gb = needs[1] ? unary('neg', binary('mul', ga, out)) : null;
    return [needs[0] ? sumToShape(ga, aShape) : null, gb ? sumToShape(gb, bShape) : null];
  },
});

export const negOp = defineOp({
  name: 'neg',
  saves: 'nothing',
  forward: ([x]) => ({ output: unary('neg', x) }),
  backward: (g) => [unary('neg', g)],
});

export const expOp = defineOp({
  name: 'exp',
  saves: 'the output',
  forward: ([x]) => { const y = unary('exp', x); return { output: y, saved: [y] }; },
  backward: (g, [y]) => [binary('mul', g, y)],
});

export const logOp = defineOp({
  name: 'log',
  saves: 'the input',
  forward: ([x]) => ({ output: unary('log', x), saved: [x] }),
  backward: (g, [x]) => [binary('div', g, x)],
});

export const sqrtOp = defineOp({
  name: 'sqrt',
  saves: 'the output',
  forward: ([x]) => { const y = unary('sqrt', x); return { output: y, saved: [y] }; },
  backward: (g, [y]) => [unary('mulScalar', binary('div', g, y), 0.5)],
});

export const rsqrtOp = defineOp({
  name: 'rsqrt',
  saves: 'the output',
  forward: ([x]) => { const y = unary('rsqrt', x); return { output: y, saved: [y] }; },
  // d x^-1/2 = -1/2 x^-3/2 = -1/2 y^3
  backward: (g, [y]) => [unary('mulScalar', binary('mul', g, unary('powScalar', y, 3)), -0.5)],
});

export const powScalarOp = defineOp<{ exponent: number }>({
  name: 'powScalar',
  saves: 'the input',
  forward: ([x], { exponent }) => ({ output: unary('powScalar', x, exponent), saved: [x] }),
  backward: (g, [x], _s, _n, { exponent }) => [
    exponent === 0 ? unary('mulScalar', g, 0) : binary('mul', g, unary('mulScalar', unary('powScalar', x, exponent - 1), exponent)),
  ],
});

export const addScalarOp = defineOp<{ value: number }>({
  name: 'addScalar',
  saves: 'nothing',
  forward: ([x], { value }) => ({ output: unary('addScalar', x, value) }),
  backward: (g) => [alias(g)],
});

export const mulScalarOp = defineOp<{ value: number }>({
  name: 'mulScalar',
  saves: 'nothing',
  forward: ([x], { value }) => ({ output: unary('mulScalar', x, value) }),
  backward: (g, _s, _st, _n, { value }) => [unary('mulScalar', g, value)],
});

export const sigmoidOp = defineOp({
  name: 'sigmoid',
  saves: 'the output',
  forward: ([x]) => { const y = unary('sigmoid', x); return { output: y, saved: [y] }; },
  // y (1 - y)
  backward: (g, [y]) => [binary('mul', g, binary('mul', y, unary('addScalar', unary('neg', y), 1)))],
});

export const siluOp = defineOp({
  name: 'silu',
  saves: 'the input',
  forward: ([x]) => ({ output: unary('silu', x), saved: [x] }),
  // silu'(x) = s (1 + x (1 - s)), s = sigmoid(x); each intermediate is freed once used,
  // so the backward holds at most three x-sized temporaries.
  backward: (g, [x]) => {
    const s = unary('sigmoid', x);
    const oneMinusS = consume(unary('neg', s), (t) => unary('addScalar', t, 1));
    const inner = consume(consume(oneMinusS, (t) => binary('mul', x, t)), (t) => unary('addScalar', t, 1));
    const derivative = consume(inner, (t) => consume(s, (sig) => binary('mul', sig, t)));
    return [consume(derivative, (d) => binary('mul', g, d))];
  },
});

export const reluOp = defineOp({
  name: 'relu',
  saves: 'the output',
  forward: ([x]) => { const y = unary('relu', x); return { output: y, saved: [y] }; },
  // 1 where y > 0: gt(y, 0) built from y against a zero of the same layout.
  backward: (g, [y]) => [binary('mul', g, binary('gt', y, unary('mulScalar', y, 0)))],
});
