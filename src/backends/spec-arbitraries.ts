// fast-check building blocks for kernel cases: shapes (with size-1 and empty
// dimensions) and strided layouts (permuted, sliced with steps, offset, and
// broadcast) over a buffer sized to fit them.

import * as fc from 'fast-check';
import { contiguousStrides, numel } from '../tensor/shape.js';

export interface GeneratedLayout {
  readonly offset: number;
  readonly strides: number[];
  /** Elements the buffer needs so that every index of the layout is in range. */
  readonly bufferNumel: number;
}

export function arbShape(opts: { minRank?: number; maxRank?: number; maxDim?: number; allowEmpty?: boolean } = {}): fc.Arbitrary<number[]> {
  const { minRank = 0, maxRank = 4, maxDim = 6, allowEmpty = true } = opts;
  return fc.array(fc.integer({ min: allowEmpty ? 0 : 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/** A layout for `shape`: a permuted, padded, stepped, offset storage; broadcast axes get stride 0. */
export function arbLayout(shape: readonly number[], opts: { broadcast?: boolean } = {}): fc.Arbitrary<GeneratedLayout> {
  const rank = shape.length;
  return fc
    .record({
      contiguous: fc.boolean(),
      perm: fc.shuffledSubarray([...Array(rank).keys()], { minLength: rank, maxLength: rank }),
      pad: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: rank, maxLength: rank }),
      step: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: rank, maxLength: rank }),
      start: fc.array(fc.nat(), { minLength: rank, maxLength: rank }),
      bcast: fc.array(opts.broadcast ? fc.boolean() : fc.constant(false), { minLength: rank, maxLength: rank }),
    })
    .map(({ contiguous, perm, pad, step, start, bcast }) => {
      if (contiguous) return { offset: 0, strides: contiguousStrides(shape), bufferNumel: Math.max(1, numel(shape)) };
      const storageDim = shape.map((d, i) => (bcast[i] || d === 0 ? 1 : (d - 1) * step[i] + 1 + pad[i]));
      // perm[0] is the outermost storage axis.
      const storageStride = new Array<number>(rank);
      let s = 1;
      for (let j = rank - 1; j >= 0; j--) { storageStride[perm[j]] = s; s *= storageDim[perm[j]]; }
      let offset = 0;
      const strides = shape.map((d, i) => {
        if (bcast[i]) return 0;
        const first = d === 0 ? 0 : start[i] % (pad[i] + 1);
        offset += first * storageStride[i];
        return storageStride[i] * step[i];
      });
      return { offset, strides, bufferNumel: Math.max(1, s) };
    });
}

/** Enumerates every index of `shape` in row-major order (rank 0 yields one empty index). */
export function* indices(shape: readonly number[]): Generator<number[]> {
  if (shape.some((d) => d === 0)) return;
  const index = new Array<number>(shape.length).fill(0);
  for (;;) {
    yield index;
    let axis = shape.length - 1;
    while (axis >= 0) {
      index[axis]++;
      if (index[axis] < shape[axis]) break;
      index[axis] = 0;
      axis--;
    }
    if (axis < 0) return;
  }
}

export function offsetOf(index: readonly number[], layout: { offset: number; strides: readonly number[] }): number {
  let o = layout.offset;
  for (let i = 0; i < index.length; i++) o += index[i] * layout.strides[i];
  return o;
}

export const arbSeed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
