// Shapes, strides and views: reshape-as-view must address exactly the
// elements a copy would, and broadcasting follows NumPy's rules.

import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { broadcastShapes, contiguousStrides, numel, viewStrides } from '../../src/tensor/shape.js';
import { arbLayout, indices, offsetOf } from '../../src/backends/spec-arbitraries.js';

describe('viewStrides', () => {
  it('when it finds strides, the view enumerates the same storage offsets in row-major order', () => {
    const arb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        layout: arbLayout(shape),
        // A target shape with the same number of elements: split/merge adjacent dims.
        target: fc.shuffledSubarray(shape.flatMap((d, i) => (i === 0 ? [d] : [d])), { minLength: shape.length, maxLength: shape.length }),
        merge: fc.boolean(),
      }));
    let viewed = 0;
    fc.assert(fc.property(arb, ({ shape, layout, target, merge }) => {
      const newShape = merge ? [numel(target)] : target;
      const strides = viewStrides(shape, layout.strides, newShape);
      const expected = [...indices(shape)].map((i) => offsetOf(i, layout));
      if (strides === null) {
        // Then a view is impossible: some adjacent pair of the new shape is not addressable by one stride.
        expect(layout.strides.length).toBeGreaterThan(0);
        return;
      }
      viewed++;
      const got = [...indices(newShape)].map((i) => offsetOf(i, { offset: layout.offset, strides }));
      expect(got).toEqual(expected);
    }), { numRuns: 2000 });
    expect(viewed).toBeGreaterThan(100);
  });

  it('contiguous tensors always reshape as views', () => {
    expect(viewStrides([2, 3, 4], contiguousStrides([2, 3, 4]), [6, 4])).toEqual([4, 1]);
    expect(viewStrides([2, 3, 4], contiguousStrides([2, 3, 4]), [24])).toEqual([1]);
    // A transposed matrix cannot be flattened without a copy.
    expect(viewStrides([3, 2], [1, 3], [6])).toBeNull();
  });
});

describe('broadcastShapes', () => {
  it('follows NumPy rules', () => {
    expect(broadcastShapes([3, 1, 5], [4, 1], 'add')).toEqual([3, 4, 5]);
    expect(broadcastShapes([], [2, 2], 'add')).toEqual([2, 2]);
    expect(broadcastShapes([0, 1], [1, 3], 'add')).toEqual([0, 3]);
  });
  it('names the op and both shapes when incompatible', () => {
    expect(() => broadcastShapes([2, 3], [4], 'mul')).toThrow(/mul: shapes \[2, 3\] and \[4\] cannot be broadcast/);
  });
});
