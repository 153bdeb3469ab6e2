// Counter-based random fills and dropout on the Philox stream (philox.ts):
// element i of a uniform fill uses stream word offset + i; a normal uses words
// offset + 2i and offset + 2i + 1 (Box-Muller), exactly as the CPU reference.

import type { BackendBuffer, RandomDistribution } from '../../backend.js';
import { philoxArguments } from './philox.js';
import { ProgramBuilder, type KernelCall } from './program.js';
import { storeExpression, storeKey } from './store.js';

/** Declares the stream arguments and returns a function from a word-index expression to its uniform variate. */
function streamOf(b: ProgramBuilder, seed: number, offset: number): (word: string) => string {
  const stream = philoxArguments(seed, offset);
  const base = stream.baseLimbs.map((v, l) => b.float(`base${l}`, v));
  const key = stream.keyLimbs.map((v, l) => b.float(`key${l}`, v));
  const lane = b.int('lane', stream.firstLane);
  return (word) => `philoxUniform(${lane} + ${word}, ${[...base, ...key].join(', ')})`;
}

export function randomCall(out: BackendBuffer, distribution: RandomDistribution, seed: number, offset: number, a: number, b2: number): KernelCall {
  const b = new ProgramBuilder(`random.${distribution}|${storeKey(out.dtype)}`);
  const uniform = streamOf(b, seed, offset);
  let body: string;
  if (distribution === 'uniform') {
    const low = b.float('low', a);
    const width = b.float('width', b2 - a);
    body = `  return ${storeExpression(b, out.dtype, `${low} + ${width} * ${uniform('this.thread.x')}`)};`;
  } else {
    const mean = b.float('mean', a);
    const std = b.float('std', b2);
    // cos(2 pi u) = -cos(2 pi (u - 1/2)): keeps the argument in [-pi, pi], where GPU cos is accurate.
    body = [
      `  const u1 = ${uniform('2 * this.thread.x')};`,
      `  const u2 = ${uniform('2 * this.thread.x + 1')};`,
      '  const z = -Math.sqrt(-2 * Math.log(u1)) * Math.cos(6.283185307179586 * (u2 - 0.5));',
      `  return ${storeExpression(b, out.dtype, `${mean} + ${std} * z`)};`,
    ].join('\n');
  }
  return b.build(body, out.numel);
}

/** out = x * keep / (1 - p) with keep = uniform(offset + i) >= p. */
export function dropoutCall(x: BackendBuffer, numel: number, p: number, seed: number, offset: number, out: BackendBuffer): KernelCall {
  const b = new ProgramBuilder(`dropout|${storeKey(out.dtype)}`);
  const X = b.array('x', x);
  const uniform = streamOf(b, seed, offset);
  const threshold = b.float('p', p);
  const scale = b.float('scale', p >= 1 ? 0 : 1 / (1 - p));
  const body = [
    `  const v = ${X}[this.thread.x];`,
    `  if (${uniform('this.thread.x')} >= ${threshold}) { return ${storeExpression(b, out.dtype, `v * ${scale}`)}; }`,
    '  return 0;',
  ].join('\n');
  return b.build(body, numel);
}
