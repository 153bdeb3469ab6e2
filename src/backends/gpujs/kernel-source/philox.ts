// Philox4x32-10 inside gpu.js kernels, bit-for-bit the stream of
// tensor/philox.ts. gpu.js offers no portable 32-bit unsigned arithmetic (WGSL
// wraps i32 products, JavaScript does not, and locals are f32), so every
// 32-bit word is held as four 8-bit limbs in f32 locals: limb products stay
// below 2^16 and column sums below 2^19, so every step is an exact f32
// integer on every gpu.js backend, and XOR works limb by limb.
//
// The helper returns the uniform variate of one word: word `t` of the stream
// counted from the first word of the base block (`base` in 8-bit limbs, so
// offsets up to 2^53 fit), mapped exactly as uniformFromWord does.

import type { GpuJsFunctionDefinition } from '../gpujs-library.js';

const limbs = (word: number) => [word & 255, (word >>> 8) & 255, (word >>> 16) & 255, word >>> 24];

const M0 = limbs(0xd2511f53);
const M1 = limbs(0xcd9e8d57);
const W0 = limbs(0x9e3779b9);
const W1 = limbs(0xbb67ae85);

/** Exact 8-bit limb split: `name` = sum mod 256, `${name}_carry` = sum div 256. */
function split(lines: string[], indent: string, name: string, sum: string): void {
  lines.push(`${indent}const ${name}_sum = ${sum};`);
  lines.push(`${indent}const ${name}_carry = Math.floor(${name}_sum / 256);`);
  lines.push(`${indent}const ${name} = ${name}_sum - ${name}_carry * 256;`);
}

/** 64-bit product of a constant word and a limb word, into limbs `${out}0..7`. */
function multiply(lines: string[], indent: string, out: string, constant: number[], word: string[]): void {
  let carry = '';
  for (let column = 0; column < 7; column++) {
    const terms: string[] = [];
    for (let i = 0; i < 4; i++) {
      const j = column - i;
      if (j >= 0 && j < 4) terms.push(`${constant[i]} * ${word[j]}`);
    }
    if (carry) terms.push(carry);
    split(lines, indent, `${out}${column}`, terms.join(' + '));
    carry = `${out}${column}_carry`;
  }
  lines.push(`${indent}const ${out}7 = ${carry};`);
}

/** key = key + constant (mod 2^32), limb by limb. */
function addConstant(lines: string[], indent: string, key: string, constant: number[]): void {
  let carry = '';
  for (let l = 0; l < 4; l++) {
    split(lines, indent, `${key}n${l}`, `${key}${l} + ${constant[l]}${carry ? ` + ${carry}` : ''}`);
    carry = `${key}n${l}_carry`;
  }
  for (let l = 0; l < 4; l++) lines.push(`${indent}${key}${l} = ${key}n${l};`);
}

function philoxUniformSource(): string {
  const base = [0, 1, 2, 3, 4, 5, 6].map((l) => `b${l}`);
  const key = ['k0', 'k1'].flatMap((k) => [0, 1, 2, 3].map((l) => `${k}${l}`));
  const lines: string[] = [];
  // Block = base + (t >> 2), as 8 limbs: counter words c0 (limbs 0-3) and c1 (4-7); c2 = c3 = 0.
  const delta = ['((t >> 2) & 255)', '((t >> 10) & 255)', '((t >> 18) & 255)', '((t >> 26) & 255)'];
  let carry = '';
  for (let l = 0; l < 8; l++) {
    const terms: string[] = [];
    if (l < 7) terms.push(base[l]);
    if (l < 4) terms.push(delta[l]);
    if (carry) terms.push(carry);
    split(lines, '  ', `s${l}`, terms.join(' + '));
    carry = `s${l}_carry`;
  }
  for (let l = 0; l < 4; l++) {
    lines.push(`  let c0${l} = s${l};`, `  let c1${l} = s${l + 4};`, `  let c2${l} = 0;`, `  let c3${l} = 0;`);
  }
  for (const k of key) lines.push(`  let ${k} = ${k}_in;`);
  lines.push('  for (let round = 0; round < 10; round++) {');
  const ind = '    ';
  multiply(lines, ind, 'p', M0, [0, 1, 2, 3].map((l) => `c0${l}`));
  multiply(lines, ind, 'q', M1, [0, 1, 2, 3].map((l) => `c2${l}`));
  // c0' = hi(M1*c2) ^ c1 ^ k0; c1' = lo(M1*c2); c2' = hi(M0*c0) ^ c3 ^ k1; c3' = lo(M0*c0).
  for (let l = 0; l < 4; l++) {
    lines.push(`${ind}const x0${l} = (q${l + 4} ^ c1${l}) ^ k0${l};`);
    lines.push(`${ind}const x2${l} = (p${l + 4} ^ c3${l}) ^ k1${l};`);
  }
  for (let l = 0; l < 4; l++) {
    lines.push(`${ind}c0${l} = x0${l};`, `${ind}c1${l} = q${l};`, `${ind}c2${l} = x2${l};`, `${ind}c3${l} = p${l};`);
  }
  addConstant(lines, ind, 'k0', W0);
  addConstant(lines, ind, 'k1', W1);
  lines.push('  }');
  // The word at lane t & 3 of the block, then uniformFromWord: ((w >>> 9) * 2 + 1) * 2^-24.
  lines.push('  const lane = t & 3;');
  for (let l = 0; l < 4; l++) lines.push(`  let w${l} = c0${l};`);
  for (const lane of [1, 2, 3]) {
    lines.push(`  if (lane === ${lane}) { ${[0, 1, 2, 3].map((l) => `w${l} = c${lane}${l};`).join(' ')} }`);
  }
  lines.push('  return ((w3 * 32768 + w2 * 128 + Math.floor(w1 / 2)) * 2 + 1) * 5.960464477539063e-8;');
  const params = ['t', ...base, ...key.map((k) => `${k}_in`)];
  return `function philoxUniform(${params.join(', ')}) {\n${lines.join('\n')}\n}`;
}

const PARAMETER_TYPES: Record<string, 'Integer' | 'Float'> = { t: 'Integer' };
for (let l = 0; l < 7; l++) PARAMETER_TYPES[`b${l}`] = 'Float';
for (const k of ['k0', 'k1']) for (let l = 0; l < 4; l++) PARAMETER_TYPES[`${k}${l}_in`] = 'Float';

export const PHILOX_UNIFORM_HELPER: GpuJsFunctionDefinition = {
  source: philoxUniformSource(),
  settings: { argumentTypes: PARAMETER_TYPES, returnType: 'Number' },
};

/** The stream position of word `offset` of `seed`, as kernel arguments: base-block limbs, key limbs, lane. */
export interface PhiloxArguments {
  readonly baseLimbs: number[];
  readonly keyLimbs: number[];
  /** offset mod 4: the helper's word t is stream word 4 * block + t, so element i of a stream starting at offset uses t = firstLane + i. */
  readonly firstLane: number;
}

const TWO_POW_32 = 2 ** 32;

export function philoxArguments(seed: number, offset: number): PhiloxArguments {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`random: seed ${seed} must be a non-negative safe integer`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`random: offset ${offset} must be a non-negative safe integer`);
  const block = Math.floor(offset / 4);
  const baseLimbs: number[] = [];
  let rest = block;
  for (let l = 0; l < 7; l++) { baseLimbs.push(rest % 256); rest = Math.floor(rest / 256); }
  const k0 = seed % TWO_POW_32;
  const k1 = Math.floor(seed / TWO_POW_32);
  return { baseLimbs, keyLimbs: [...limbs(k0 >>> 0), ...limbs(k1 >>> 0)], firstLane: offset % 4 };
}
