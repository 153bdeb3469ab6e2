// Index expressions for kernels that walk an N-d shape with one thread per
// element of a dense row-major output. Shapes are collapsed first (layout.ts),
// so a contiguous walk is rank 1. Higher ranks run on a gpu.js 2-D/3-D output
// grid: the last axis is thread.x, the one before thread.y, the rest folded
// into thread.z. That needs no division for rank <= 3, and in webasm's SIMD
// code values of thread.y and thread.z are shared by all four lanes, so their
// index math and loads are done once per quad. A grid beyond WebGPU's dispatch
// limits falls back to one flat dimension split with exact i32 division.
// Each operand's element offset is `offset + sum(index[k] * stride[k])`.

import type { ProgramBuilder } from './program.js';

export interface Layout {
  readonly offset: number;
  readonly strides: readonly number[];
}

/** WebGPU guarantees 65535 workgroups per dimension; gpu.js's 2-D/3-D workgroups are 8 x 8 x 1. */
const GRID_XY_LIMIT = 65535 * 8;
const GRID_Z_LIMIT = 65535;

/** Whether a 2-D/3-D output grid (x, y, z) fits every gpu.js mode's dispatch limits. */
export function gridFits(x: number, y: number, z: number): boolean {
  return x <= GRID_XY_LIMIT && y <= GRID_XY_LIMIT && z <= GRID_Z_LIMIT;
}

export class IndexSpace {
  private readonly axisExpressions: string[];
  /** gpu.js output dimensions for this space (x first). */
  readonly output: number[];
  /** Cache-key fragment: rank and whether the space is a grid or flat. */
  readonly key: string;

  /**
   * @param name prefix for this space's size arguments
   * @param shape collapsed shape (rank >= 1)
   */
  constructor(private readonly b: ProgramBuilder, name: string, readonly shape: readonly number[]) {
    const rank = shape.length;
    const outer = shape.slice(0, Math.max(0, rank - 2)).reduce((p, d) => p * d, 1);
    const grid = rank >= 2 && gridFits(shape[rank - 1], shape[rank - 2], outer);
    this.key = `r${rank}${grid ? 'g' : 'f'}`;
    b.keyPart(this.key);
    if (rank === 1) {
      this.output = [shape[0]];
      this.axisExpressions = ['this.thread.x'];
    } else if (grid) {
      this.output = rank === 2 ? [shape[1], shape[0]] : [shape[rank - 1], shape[rank - 2], outer];
      this.axisExpressions = splitAxes(b, name, shape.slice(0, rank - 2), 'this.thread.z');
      this.axisExpressions.push('this.thread.y', 'this.thread.x');
    } else {
      this.output = [shape.reduce((p, d) => p * d, 1)];
      this.axisExpressions = splitAxes(b, name, shape, 'this.thread.x');
    }
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Integer expression of the index along axis k. */
  axis(k: number): string {
    return this.axisExpressions[k];
  }

  /** Integer expression of an operand's element offset; declares `${name}O` and `${name}S{k}`. */
  offset(name: string, layout: Layout): string {
    const terms = [this.b.int(`${name}O`, layout.offset)];
    for (let k = 0; k < this.rank; k++) terms.push(`${this.axis(k)} * ${this.b.int(`${name}S${k}`, layout.strides[k])}`);
    return `(${terms.join(' + ')})`;
  }
}

/** Per-axis index expressions of `shape` from one flat Integer index (exact i32 division). */
function splitAxes(b: ProgramBuilder, name: string, shape: readonly number[], flat: string): string[] {
  const rank = shape.length;
  if (rank === 1) return [flat];
  const inner = new Array<number>(rank);
  let product = 1;
  for (let k = rank - 1; k >= 0; k--) { inner[k] = product; product *= shape[k]; }
  return shape.map((size, k) => {
    if (k === 0) return `idiv(${flat}, ${b.int(`${name}P${k}`, inner[k])})`;
    if (k === rank - 1) return `imod(${flat}, ${b.int(`${name}D${k}`, size)})`;
    return `axisIndex(${flat}, ${b.int(`${name}P${k}`, inner[k])}, ${b.int(`${name}D${k}`, size)})`;
  });
}

/** Below this many elements every index is an exact f32 integer, so a per-thread base index may live in a local. */
export const NARROW_INDEX_LIMIT = 2 ** 24;

/**
 * A per-thread index computed once before a loop. gpu.js declares locals f32,
 * which holds indices exactly only below 2^24, so for larger buffers the
 * Integer expression is repeated inline instead (the compiler may hoist it).
 */
export function hoistedIndex(name: string, expression: string, narrow: boolean): { declaration: string; reference: string } {
  return narrow
    ? { declaration: `  const ${name} = ${expression};`, reference: name }
    : { declaration: '', reference: expression };
}

export const narrowKey = (narrow: boolean) => (narrow ? 'narrow' : 'wide');
