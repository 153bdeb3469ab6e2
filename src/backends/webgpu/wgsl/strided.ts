// Strided N-d indexing. The host first coalesces the index space (drops
// size-1 axes, merges neighbouring axes that are contiguous for every
// operand), which turns most layouts into rank 1. Rank 1 gets its own
// program (offset = o + i * s); any other rank up to MAX_RANK shares one
// program that walks the axes in a loop with the rank as a param, so a few
// pipelines cover every layout. Offsets use wrapping u32 arithmetic, so
// negative strides (passed as i32 bits) work too.

import { i32, u32, type ParamDecl, type ParamLayout } from '../params.js';

export const MAX_RANK = 8;

export interface StridedOperandLayout {
  readonly offset: number;
  readonly strides: readonly number[];
}

export interface Coalesced {
  readonly shape: number[];
  /** strides[operand][axis] */
  readonly strides: number[][];
}

/** 'r1' for one axis, 'rN' for the loop over up to MAX_RANK axes. */
export type RankClass = 'r1' | 'rN';

/** Merges axes so the index space has the fewest axes that still address every operand correctly. */
export function coalesce(shape: readonly number[], layouts: readonly StridedOperandLayout[]): Coalesced {
  const keep = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  const outShape: number[] = [];
  const outStrides: number[][] = layouts.map(() => []);
  for (const axis of keep) {
    const last = outShape.length - 1;
    // Axis `last` (outer) merges with `axis` (inner) when stepping the outer one equals `size` steps of the inner.
    const mergeable = last >= 0 && layouts.every((l, j) => outStrides[j][last] === l.strides[axis] * shape[axis]);
    if (mergeable) {
      outShape[last] *= shape[axis];
      layouts.forEach((l, j) => { outStrides[j][last] = l.strides[axis]; });
    } else {
      outShape.push(shape[axis]);
      layouts.forEach((l, j) => outStrides[j].push(l.strides[axis]));
    }
  }
  if (outShape.length === 0) return { shape: [1], strides: layouts.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

export function rankClassOf(c: Coalesced, op: string): RankClass {
  if (c.shape.length > MAX_RANK) {
    throw new Error(`webgpu ${op}: the layout has ${c.shape.length} axes that cannot be merged; at most ${MAX_RANK} are supported`);
  }
  return c.shape.length === 1 ? 'r1' : 'rN';
}

export function stridedParamDecls(rankClass: RankClass, operands: readonly string[]): ParamDecl[] {
  const axes = rankClass === 'r1' ? 1 : MAX_RANK;
  const decls: ParamDecl[] = rankClass === 'r1' ? [] : [u32('rank')];
  for (let d = 0; d < axes; d++) decls.push(u32(`n${d}`));
  for (const op of operands) {
    decls.push(u32(`o_${op}`));
    for (let d = 0; d < axes; d++) decls.push(i32(`s_${op}_${d}`));
  }
  return decls;
}

export function stridedParamValues(rankClass: RankClass, coalesced: Coalesced, operands: readonly string[], offsets: readonly number[]): Record<string, number> {
  const axes = rankClass === 'r1' ? 1 : MAX_RANK;
  const rank = coalesced.shape.length;
  const values: Record<string, number> = rankClass === 'r1' ? {} : { rank };
  for (let d = 0; d < axes; d++) values[`n${d}`] = d < rank ? coalesced.shape[d] : 1;
  operands.forEach((op, j) => {
    values[`o_${op}`] = offsets[j];
    for (let d = 0; d < axes; d++) values[`s_${op}_${d}`] = d < rank ? coalesced.strides[j][d] : 0;
  });
  return values;
}

/**
 * WGSL statements declaring `off_<op>` (u32) for each operand at linear
 * (row-major) index `linear`. Expects the params as `let`s in scope and the
 * layout's `prm_` accessor.
 */
export function stridedOffsets(rankClass: RankClass, layout: ParamLayout, operands: readonly string[], linear: string): string {
  if (rankClass === 'r1') {
    return operands.map((op) => `  let off_${op} = o_${op} + (${linear}) * u32(s_${op}_0);\n`).join('');
  }
  const shapeBase = layout.slot('n0');
  let s = `  var rem_ = ${linear};\n`;
  for (const op of operands) s += `  var off_${op} = o_${op};\n`;
  s += `  for (var ax_ = rank - 1u; ax_ > 0u; ax_ = ax_ - 1u) {\n`;
  s += `    let n_ = prm_(${shapeBase}u + ax_);\n    let ci_ = rem_ % n_;\n    rem_ = rem_ / n_;\n`;
  for (const op of operands) s += `    off_${op} = off_${op} + ci_ * prm_(${layout.slot(`s_${op}_0`)}u + ax_);\n`;
  s += '  }\n';
  for (const op of operands) s += `  off_${op} = off_${op} + rem_ * u32(s_${op}_0);\n`;
  return s;
}
