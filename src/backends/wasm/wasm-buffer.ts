// A backend buffer is a block of the shared wasm memory: its byte address and
// the block size the pool gave it.

import type { DType } from '../../tensor/dtype.js';
import type { BackendBuffer } from '../backend.js';

export class WasmBuffer implements BackendBuffer {
  freed = false;
  constructor(readonly dtype: DType, readonly numel: number, readonly ptr: number, readonly blockBytes: number) {}
}

export function asWasm(buffer: BackendBuffer, what: string): WasmBuffer {
  if (!(buffer instanceof WasmBuffer)) throw new Error(`wasm backend: ${what} is not a wasm buffer (got a ${buffer?.constructor?.name ?? typeof buffer})`);
  if (buffer.freed) throw new Error(`wasm backend: ${what} was freed`);
  return buffer;
}

/** The dtype codes the kernels use (see kernels/common.h). */
export const DTYPE_CODE: Partial<Record<DType, number>> = { f32: 0, f16: 1, i32: 2 };

export function dtypeCode(dtype: DType, what: string): number {
  const code = DTYPE_CODE[dtype];
  if (code === undefined) throw new Error(`wasm backend: ${what} has dtype ${dtype}; the wasm backend stores f32, f16 and i32 only`);
  return code;
}
