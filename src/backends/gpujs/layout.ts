// Shape and stride bookkeeping on the host, before a kernel is chosen: drop
// size-1 axes and merge neighbouring axes that every operand walks
// contiguously, so most elementwise work runs as a rank-1 kernel with no index
// division at all, and one compiled kernel per rank covers every shape.

import type { StridedLayout } from '../backend.js';
import { contiguousStrides } from '../../tensor/shape.js';

export interface Collapsed {
  readonly shape: number[];
  /** One layout per operand, over the collapsed shape. */
  readonly layouts: StridedLayout[];
}

export const numelOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export { contiguousStrides };

/**
 * Collapses `shape` for operands walked with `layouts`, plus a dense row-major
 * output (which merges wherever the operands do). The result has rank >= 1.
 */
export function collapse(shape: readonly number[], layouts: readonly StridedLayout[]): Collapsed {
  const dims: number[] = [];
  const strides: number[][] = layouts.map(() => []);
  for (let k = 0; k < shape.length; k++) {
    if (shape[k] === 1) continue;
    const last = dims.length - 1;
    const mergeable = last >= 0 && layouts.every((l, j) => strides[j][last] === l.strides[k] * shape[k]);
    if (mergeable) {
      dims[last] *= shape[k];
      layouts.forEach((l, j) => { strides[j][last] = l.strides[k]; });
    } else {
      dims.push(shape[k]);
      layouts.forEach((l, j) => strides[j].push(l.strides[k]));
    }
  }
  if (dims.length === 0) return { shape: [1], layouts: layouts.map((l) => ({ offset: l.offset, strides: [0] })) };
  return { shape: dims, layouts: layouts.map((l, j) => ({ offset: l.offset, strides: strides[j] })) };
}

/** Largest element index a layout reaches over `shape` (shape without zeros), for bounds checks. */
export function maxIndexOf(shape: readonly number[], layout: StridedLayout): number {
  let index = layout.offset;
  for (let k = 0; k < shape.length; k++) index += (shape[k] - 1) * Math.max(0, layout.strides[k]);
  return index;
}

/** Smallest element index a layout reaches (negative strides lower it). */
export function minIndexOf(shape: readonly number[], layout: StridedLayout): number {
  let index = layout.offset;
  for (let k = 0; k < shape.length; k++) index += (shape[k] - 1) * Math.min(0, layout.strides[k]);
  return index;
}

/**
 * A destination layout as its axes sorted by decreasing stride, if it is
 * "nested": each stride exceeds the span of all smaller-stride axes, which is
 * what slicing, stepping and permuting a contiguous tensor produce. A nested
 * layout maps every buffer index to at most one element, and that element is
 * found by dividing by the strides in order (see copy kernel). Returns the
 * axis order, or null for overlapping or interleaved layouts.
 */
export function nestedAxisOrder(shape: readonly number[], layout: StridedLayout): number[] | null {
  const order = shape.map((_, k) => k).filter((k) => shape[k] > 1);
  if (order.some((k) => layout.strides[k] <= 0)) return null;
  order.sort((p, q) => layout.strides[q] - layout.strides[p]);
  let span = 0;
  for (let j = order.length - 1; j >= 0; j--) {
    const k = order[j];
    if (layout.strides[k] <= span) return null;
    span += (shape[k] - 1) * layout.strides[k];
  }
  return order;
}
