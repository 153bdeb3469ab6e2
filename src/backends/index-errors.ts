// The wording of an invalid index, one place for every backend: cpu and wasm
// throw it from the call, the tensor layer's device-side assert
// (src/tensor/deferred-index-checks.ts) raises it at the next readback.

/** An embedding index outside [0, rows). `value` is text so a caller can say "about N" for an inexact one. */
export function indexOutOfRange(op: string, value: number | string, position: number | string, rows: number): string {
  return `${op}: index ${value} at position ${position} is out of range [0, ${rows})`;
}

/** A cross-entropy label outside [0, classes) that is not the ignore index. */
export function labelOutOfRange(op: string, value: number | string, position: number | string, classes: number, ignoreIndex: number | null): string {
  return `${op}: label ${value} at position ${position} is out of range [0, ${classes}) for ${classes} classes (and is not the ignore index ${ignoreIndex})`;
}
