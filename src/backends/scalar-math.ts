// The scalar definition of every elementwise op, in f64. The CPU backend and
// the kernel-spec references both use these, so "what silu means" is written once.

import type { BinaryOp, UnaryOp } from './backend.js';

export function sigmoid(x: number): number {
  // Split by sign so neither branch overflows exp.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function silu(x: number): number {
  return x * sigmoid(x);
}

export function unaryFn(op: UnaryOp, scalar: number): (x: number) => number {
  switch (op) {
    case 'neg': return (x) => -x;
    case 'exp': return Math.exp;
    case 'log': return Math.log;
    case 'sqrt': return Math.sqrt;
    case 'rsqrt': return (x) => 1 / Math.sqrt(x);
    case 'sigmoid': return sigmoid;
    case 'silu': return silu;
    case 'abs': return Math.abs;
    case 'sin': return Math.sin;
    case 'cos': return Math.cos;
    case 'square': return (x) => x * x;
    case 'reciprocal': return (x) => 1 / x;
    case 'relu': return (x) => (x > 0 ? x : 0);
    case 'addScalar': return (x) => x + scalar;
    case 'mulScalar': return (x) => x * scalar;
    case 'powScalar': return (x) => Math.pow(x, scalar);
  }
}

export function binaryFn(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'add': return (a, b) => a + b;
    case 'sub': return (a, b) => a - b;
    case 'mul': return (a, b) => a * b;
    case 'div': return (a, b) => a / b;
    // NaN-propagating like torch.maximum/minimum.
    case 'maximum': return (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a >= b ? a : b);
    case 'minimum': return (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a <= b ? a : b);
    case 'eq': return (a, b) => (a === b ? 1 : 0);
    case 'gt': return (a, b) => (a > b ? 1 : 0);
  }
}
