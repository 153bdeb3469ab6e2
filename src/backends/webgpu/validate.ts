// Host-side argument checks. A GPU cannot throw, and WebGPU clamps
// out-of-range accesses silently, so wrong sizes or dtypes are caught here
// with a message naming the op, the shapes and the dtypes.

import type { DType } from '../../tensor/dtype.js';
import type { BackendBuffer, StridedLayout } from '../backend.js';

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function requireDType(op: string, what: string, buffer: BackendBuffer, expected: DType | readonly DType[]): void {
  const allowed = typeof expected === 'string' ? [expected] : expected;
  if (!allowed.includes(buffer.dtype)) {
    throw new Error(`webgpu ${op}: ${what} is ${buffer.dtype}, expected ${allowed.join(' or ')}`);
  }
}

export function requireSameDType(op: string, buffers: Record<string, BackendBuffer>): void {
  const entries = Object.entries(buffers);
  const first = entries[0][1].dtype;
  if (entries.some(([, b]) => b.dtype !== first)) {
    throw new Error(`webgpu ${op}: dtypes must match, got ${entries.map(([n, b]) => `${n} ${b.dtype}`).join(', ')}`);
  }
}

export function requireNumel(op: string, what: string, buffer: BackendBuffer, atLeast: number, detail = ''): void {
  if (buffer.numel < atLeast) {
    throw new Error(`webgpu ${op}: ${what} holds ${buffer.numel} elements but ${atLeast} are needed${detail ? ` (${detail})` : ''}`);
  }
}

/** Every element a strided layout over `shape` reaches must lie inside the buffer. */
export function requireStridedInBounds(op: string, what: string, shape: readonly number[], layout: StridedLayout, buffer: BackendBuffer): void {
  if (layout.strides.length !== shape.length) {
    throw new Error(`webgpu ${op}: ${what} has ${layout.strides.length} strides for shape ${fmtShape(shape)}`);
  }
  if (shape.some((d) => d === 0)) return;
  let lo = layout.offset;
  let hi = layout.offset;
  shape.forEach((d, i) => {
    const reach = (d - 1) * layout.strides[i];
    if (reach < 0) lo += reach; else hi += reach;
  });
  if (lo < 0 || hi >= buffer.numel) {
    throw new Error(
      `webgpu ${op}: ${what} (shape ${fmtShape(shape)}, strides ${fmtShape(layout.strides)}, offset ${layout.offset}) ` +
      `reaches elements ${lo}..${hi} of a ${buffer.dtype} buffer of ${buffer.numel}`,
    );
  }
}

export function requireNonNegativeInts(op: string, values: Record<string, number>): void {
  for (const [name, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`webgpu ${op}: ${name} must be a non-negative integer, got ${v}`);
  }
}
