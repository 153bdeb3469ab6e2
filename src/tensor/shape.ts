// Shapes, strides and broadcasting. Leaf module: imports nothing. Strides and
// offsets count elements, not bytes.

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function assertValidShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${what}: invalid shape ${formatShape(shape)}; dimensions must be non-negative integers`);
  }
}

/**
 * The axes of a reduction, resolved against the rank, highest first. A
 * repeated axis (`[1, 1]`, or `[1, -1]` on rank 2) is an error as in PyTorch:
 * silently deduplicating it made mean divide by the wrong count.
 */
export function resolveReductionAxes(axes: readonly number[], rank: number, op: string): number[] {
  const resolved = axes.map((a) => normalizeAxis(a, rank, op));
  const seen = new Set<number>();
  for (let i = 0; i < resolved.length; i++) {
    if (seen.has(resolved[i])) throw new Error(`${op}: axis ${axes[i]} appears more than once in [${axes.join(', ')}] (rank ${rank}); list each axis once`);
    seen.add(resolved[i]);
  }
  return resolved.sort((p, q) => q - p);
}

/** Resolves a possibly negative axis against a rank; throws naming the op when out of range. */
export function normalizeAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  return a;
}

/** NumPy broadcasting of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides that read a (shape, strides) view as if it had the larger target shape (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, strides: readonly number[], target: Shape, op: string): number[] {
  const rank = target.length;
  if (shape.length > rank) throw new Error(`${op}: cannot broadcast ${formatShape(shape)} to ${formatShape(target)}`);
  const out = new Array<number>(rank).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const ti = rank - shape.length + i;
    if (shape[i] === target[ti]) out[ti] = shape[i] === 1 ? 0 : strides[i];
    else if (shape[i] === 1) out[ti] = 0;
    else throw new Error(`${op}: cannot broadcast ${formatShape(shape)} to ${formatShape(target)}`);
  }
  return out;
}

export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/**
 * Strides for viewing (shape, strides) as newShape without copying, or null when
 * the memory layout does not allow it (PyTorch's computeStride rule).
 */
export function viewStrides(shape: Shape, strides: readonly number[], newShape: Shape): number[] | null {
  if (shape.length === 0) return newShape.map(() => 1);
  if (numel(shape) === 0 || numel(newShape) === 0) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length).fill(0);
  // Walk chunks of old dims that are mutually contiguous and match them to runs of new dims.
  let viewD = newShape.length - 1;
  let chunkBase = strides[strides.length - 1] ?? 1;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let tensorD = shape.length - 1; tensorD >= 0; tensorD--) {
    tensorNumel *= shape[tensorD];
    const chunkEnds = tensorD === 0 || (shape[tensorD - 1] !== 1 && strides[tensorD - 1] !== tensorNumel * chunkBase);
    if (chunkEnds) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (tensorD > 0) {
        chunkBase = strides[tensorD - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return newStrides;
}

/** Resolves a single -1 in a reshape target. */
export function inferReshape(total: number, target: Shape, op: string): number[] {
  const out = [...target];
  const unknown = out.indexOf(-1);
  if (out.filter((d) => d === -1).length > 1) throw new Error(`${op}: only one dimension may be -1, got ${formatShape(target)}`);
  const known = out.reduce((p, d) => (d === -1 ? p : p * d), 1);
  if (unknown >= 0) {
    if (known === 0 || total % known !== 0) throw new Error(`${op}: cannot reshape ${total} elements into ${formatShape(target)}`);
    out[unknown] = total / known;
  }
  assertValidShape(out, op);
  if (numel(out) !== total) throw new Error(`${op}: cannot reshape ${total} elements into ${formatShape(target)}`);
  return out;
}

export function assertPermutation(perm: readonly number[], rank: number, op: string): void {
  const seen = new Set<number>();
  for (const p of perm) {
    if (!Number.isInteger(p) || p < 0 || p >= rank || seen.has(p)) {
      throw new Error(`${op}: [${perm.join(', ')}] is not a permutation of ${rank} axes`);
    }
    seen.add(p);
  }
  if (perm.length !== rank) throw new Error(`${op}: [${perm.join(', ')}] is not a permutation of ${rank} axes`);
}

export function invertPermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => { inv[p] = i; });
  return inv;
}
