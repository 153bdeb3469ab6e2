// A compute program: its WGSL, its bindings (binding 0 is always the params
// block, then one storage buffer per Binding) and its params layout. The key
// names the kernel, the storage form of every buffer and every choice baked
// into the code, so programs (and their pipelines) are cached by key.

import { COMMON, GRID_FOLD } from './wgsl/common.js';
import { declareBindings, shaderHeader, type Binding } from './wgsl/storage.js';
import type { ParamLayout } from './params.js';

export interface Program {
  readonly key: string;
  /** What profiling and error messages call it, e.g. 'matmul[f16]'. */
  readonly label: string;
  readonly bindings: readonly Binding[];
  readonly params: ParamLayout;
  readonly code: string;
}

export interface ProgramParts {
  readonly key: string;
  readonly label: string;
  readonly bindings: readonly Binding[];
  readonly params: ParamLayout;
  /** Everything after the declarations: helper functions and the entry point `main`. */
  readonly body: string;
  /** Set when the body itself uses the f16 type. */
  readonly needsF16?: boolean;
}

export function buildProgram(parts: ProgramParts): Program {
  const code = shaderHeader(parts.bindings, parts.needsF16) + parts.params.declaration() + declareBindings(parts.bindings) + COMMON + parts.body;
  return { key: parts.key, label: parts.label, bindings: parts.bindings, params: parts.params, code };
}

export type Grid = readonly [number, number, number];

/** Workgroups for `invocations` threads of `workgroupSize`, folded into rows of GRID_FOLD past that many. */
export function grid1d(invocations: number, workgroupSize: number, maxPerDimension: number): Grid {
  const groups = Math.ceil(invocations / workgroupSize);
  if (groups <= GRID_FOLD) return [groups, 1, 1];
  const y = Math.ceil(groups / GRID_FOLD);
  if (y > maxPerDimension) throw new Error(`webgpu backend: ${invocations} invocations exceed the dispatch limit (${GRID_FOLD} x ${maxPerDimension} workgroups of ${workgroupSize})`);
  return [GRID_FOLD, y, 1];
}

/** One workgroup per item (row), folded into 2-D past the per-dimension limit. */
export function gridItems(items: number, maxPerDimension: number): Grid {
  return grid1d(items, 1, maxPerDimension);
}
