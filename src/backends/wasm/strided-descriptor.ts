// Strided layouts for the N-d kernels: axes that every operand walks
// contiguously are merged and size-1 axes dropped (so most walks are one long
// inner loop), then written as int32s for kernels/nd-iter.h:
// [rank, shape[rank], nops, (offset, strides[rank]) x nops].

export interface Walk {
  readonly shape: number[];
  readonly layouts: { offset: number; strides: number[] }[];
}

export function simplifyWalk(shape: readonly number[], layouts: ReadonlyArray<{ offset: number; strides: readonly number[] }>): Walk {
  const keep = shape.map((d, i) => i).filter((i) => shape[i] !== 1);
  let outShape = keep.map((i) => shape[i]);
  let strides = layouts.map((l) => keep.map((i) => l.strides[i]));
  // Merge axis a into a+1 when, for every operand, stride[a] == stride[a+1] * shape[a+1].
  for (let a = outShape.length - 2; a >= 0; a--) {
    if (strides.every((s) => s[a] === s[a + 1] * outShape[a + 1])) {
      outShape = [...outShape.slice(0, a), outShape[a] * outShape[a + 1], ...outShape.slice(a + 2)];
      strides = strides.map((s) => [...s.slice(0, a), s[a + 1], ...s.slice(a + 2)]);
    }
  }
  return { shape: outShape, layouts: layouts.map((l, j) => ({ offset: l.offset, strides: strides[j] })) };
}

/** The descriptor's int32 words. */
export function descriptorWords(walk: Walk): Int32Array {
  const rank = walk.shape.length;
  if (rank > 16) throw new Error(`wasm backend: a strided walk of rank ${rank} after merging axes; at most 16 axes are supported`);
  const words = new Int32Array(2 + rank + walk.layouts.length * (1 + rank));
  let i = 0;
  words[i++] = rank;
  for (const d of walk.shape) words[i++] = d;
  words[i++] = walk.layouts.length;
  for (const l of walk.layouts) {
    words[i++] = l.offset;
    for (const s of l.strides) words[i++] = s;
  }
  return words;
}
