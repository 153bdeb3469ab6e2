// Hugging Face's LLaMA rotates the split halves of each head (rotate_half),
// Meta's rotates adjacent pairs, so transformers' converter permutes the rows
// of wq (with n_heads) and wk (with n_kv_heads): within each head of hd rows,
// Meta row 2i + j (pair i, element j) becomes HF row j * hd/2 + i. Rows never
// leave their head, so a block of whole heads can be permuted on its own (the
// loader streams head-aligned chunks). Everything else is stored unpermuted.

import type { HostArray } from '../../tensor/dtype.js';

function headGeometry(rows: number, heads: number): { headDim: number; half: number } {
  if (!Number.isInteger(heads) || heads <= 0 || rows % heads !== 0 || (rows / heads) % 2 !== 0) {
    throw new Error(`rotary row permutation: ${rows} rows do not split into ${heads} heads of an even size`);
  }
  const headDim = rows / heads;
  return { headDim, half: headDim / 2 };
}

/** The HF row that holds Meta row `row` (of `rows` rows in `heads` heads). */
export function hfRowOfMetaRow(row: number, rows: number, heads: number): number {
  const { headDim, half } = headGeometry(rows, heads);
  const k = row % headDim;
  return row - k + (k % 2) * half + (k >> 1);
}

/** The Meta row that holds HF row `row`: the inverse of hfRowOfMetaRow. */
export function metaRowOfHfRow(row: number, rows: number, heads: number): number {
  const { headDim, half } = headGeometry(rows, heads);
  const k = row % headDim;
  return row - k + 2 * (k % half) + Math.floor(k / half);
}

/**
 * Permutes the rows of a row-major (rows, cols) host array: 'toHf' applies
 * the converter's permutation (Meta -> HF), 'toMeta' its inverse. `rows` may
 * be any whole number of heads (a chunk of a larger matrix); `headDim` fixes
 * the head size.
 */
export function permuteRotaryRows<T extends HostArray>(values: T, cols: number, headDim: number, direction: 'toHf' | 'toMeta'): T {
  if (values.length % (cols * headDim) !== 0) {
    throw new Error(`rotary row permutation: ${values.length} values are not whole heads of ${headDim} rows x ${cols} columns`);
  }
  const rows = values.length / cols;
  const heads = rows / headDim;
  const out = new (values.constructor as new (n: number) => T)(values.length);
  const destinationOf = direction === 'toHf' ? hfRowOfMetaRow : metaRowOfHfRow;
  for (let r = 0; r < rows; r++) {
    const to = destinationOf(r, rows, heads);
    out.set(values.subarray(r * cols, (r + 1) * cols) as never, to * cols);
  }
  return out;
}
