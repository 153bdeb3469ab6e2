// Walks an N-d index space row by row (the last axis is the inner loop) for
// several strided operands at once, so kernels run a tight loop per row
// instead of a callback per element.

/**
 * Calls `row(offsets, innerLength)` once per row of `shape`, where offsets[j]
 * is operand j's element offset at the row's first element. Inner strides are
 * `layouts[j].strides[last]`. A rank-0 shape is one row of length 1.
 */
export function forEachRow(
  shape: readonly number[],
  layouts: ReadonlyArray<{ offset: number; strides: readonly number[] }>,
  row: (offsets: number[], innerLength: number) => void,
): void {
  const rank = shape.length;
  const count = layouts.length;
  const offsets = layouts.map((l) => l.offset);
  if (rank === 0) { row(offsets, 1); return; }
  for (const d of shape) if (d === 0) return;
  const inner = shape[rank - 1];
  const index = new Array<number>(rank - 1).fill(0);
  for (;;) {
    row(offsets, inner);
    // Odometer over the outer axes.
    let axis = rank - 2;
    while (axis >= 0) {
      index[axis]++;
      for (let j = 0; j < count; j++) offsets[j] += layouts[j].strides[axis];
      if (index[axis] < shape[axis]) break;
      for (let j = 0; j < count; j++) offsets[j] -= layouts[j].strides[axis] * shape[axis];
      index[axis] = 0;
      axis--;
    }
    if (axis < 0) return;
  }
}

export function innerStride(layout: { strides: readonly number[] }): number {
  return layout.strides.length === 0 ? 1 : layout.strides[layout.strides.length - 1];
}
