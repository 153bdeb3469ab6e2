// The kernel-spec table: one row per kernel, core and fused. Adding a kernel
// is adding a row here (and the backend method it invokes).

import type { KernelSpec } from './kernel-spec.js';
import { coreKernelSpecs } from './kernel-specs-core.js';
import { fusedKernelSpecs } from './kernel-specs-fused.js';

export const KERNEL_SPECS: readonly KernelSpec[] = [...coreKernelSpecs, ...fusedKernelSpecs];

const byName = new Map(KERNEL_SPECS.map((s) => [s.name, s]));

export function kernelSpec(name: string): KernelSpec {
  const spec = byName.get(name);
  if (!spec) throw new Error(`unknown kernel '${name}'; known kernels: ${[...byName.keys()].join(', ')}`);
  return spec;
}
