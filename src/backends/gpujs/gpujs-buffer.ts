// A buffer of the gpu.js backend: `numel` elements of `dtype` held in one
// pooled storage block (a GPU buffer in webgpu mode, a host Float32Array in
// webasm and cpu modes), always as f32 values (see host-values.ts).

import type { BackendBuffer } from '../backend.js';
import type { StoredDType } from './host-values.js';

export class GpuJsBuffer<Block = unknown> implements BackendBuffer {
  freed = false;
  /** @param owner the identity of the backend that allocated it */
  constructor(readonly dtype: StoredDType, readonly numel: number, readonly block: Block, readonly owner: object) {}
}
