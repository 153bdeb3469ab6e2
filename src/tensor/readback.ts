// Async readback of a tensor's elements in row-major order.

import { allocHostArray, type HostArray } from './dtype.js';
import type { Tensor } from './tensor.js';
import { contiguousCopy } from './kernel-ops.js';

/** The elements of `t`; first raises any device-side index error recorded since the last readback (deferred-index-checks.ts). */
export async function readDense(t: Tensor): Promise<HostArray> {
  const values = await readValues(t);
  await t.context.raiseDeviceErrors();
  return values;
}

async function readValues(t: Tensor): Promise<HostArray> {
  const backend = t.context.backend;
  if (t.numel === 0) return allocHostArray(t.dtype, 0);
  if (t.isContiguous) return backend.read(t.storage.buffer, t.offset, t.numel);
  const dense = contiguousCopy(t).keep();
  try {
    return await backend.read(dense.storage.buffer, 0, dense.numel);
  } finally {
    dense.dispose();
  }
}
