// What kernel launchers see of the backend: the storage forms in use, the
// dispatch limits, and a way to run a (cached) program on some buffers.

import type { DType } from '../../tensor/dtype.js';
import type { F16Mode } from './adapter.js';
import type { BackendBuffer } from '../backend.js';
import type { ParamValues } from './params.js';
import type { Grid, Program } from './program.js';

export interface KernelHost {
  readonly f16Mode: F16Mode;
  readonly maxWorkgroupsPerDimension: number;
  readonly maxWorkgroupStorageBytes: number;
  /**
   * Records one dispatch of the program cached under `key` (built by `build` on first use).
   * `label` names the dispatch for profiling when one program serves several ops (default: the program's label).
   */
  run(key: string, build: () => Program, buffers: readonly BackendBuffer[], values: ParamValues, grid: Grid, label?: string): void;
  /** A pool buffer for intermediate results inside one kernel; release it when done (reuse is ordered). */
  scratch(dtype: DType, numel: number): BackendBuffer;
  release(buffer: BackendBuffer): void;
}
