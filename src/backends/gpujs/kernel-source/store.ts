// How a kernel's result is stored for each dtype: f32 as computed, f16
// rounded to nearest even (the emulation's one rounding per output, as the
// CPU reference rounds once), i32 truncated toward zero.

import type { DType } from '../../../tensor/dtype.js';
import type { ProgramBuilder } from './program.js';

export function storeExpression(b: ProgramBuilder, dtype: DType, expression: string): string {
  switch (dtype) {
    case 'f32': return expression;
    case 'f16': return `roundF16(${expression}, ${infinity(b)})`;
    case 'i32': return `Math.trunc(${expression})`;
    case 'f64': throw new Error('gpujs backend: internal error: f64 output');
  }
}

/** A runtime +Infinity argument (gpu.js writes the literal `Infinity` as the largest f32 in WGSL). */
export function infinity(b: ProgramBuilder): string {
  return b.has('inf') ? 'inf' : b.float('inf', Infinity);
}

/** A runtime NaN argument (NaN has no literal in gpu.js). */
export function notANumber(b: ProgramBuilder): string {
  return b.has('nan') ? 'nan' : b.float('nan', NaN);
}

/** Cache-key fragment: what storing in `dtype` compiles to. */
export function storeKey(dtype: DType): string {
  return dtype;
}
