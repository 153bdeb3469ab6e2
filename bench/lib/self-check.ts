// A quick conformance pass before timing: a few generated cases of every
// kernel x dtype of the spec table against the f64 reference, so a benchmark
// run on a new GPU also says whether the kernels are right there.

import type { DType } from '../../src/tensor/dtype.js';
import { runKernelCase, sampleCases } from '../../src/backends/conformance.js';
import { KERNEL_SPECS } from '../../src/backends/kernel-specs.js';
import type { OpenBackend } from './bench-backends.js';

export interface SelfCheck {
  readonly cases: number;
  readonly failures: string[];
}

export async function selfCheck(ob: OpenBackend, casesPerKernel: number): Promise<SelfCheck> {
  const supported = ob.backend.capabilities.dtypes;
  let cases = 0;
  const failures: string[] = [];
  for (const spec of KERNEL_SPECS) {
    for (const dtype of spec.dtypes.filter((d): d is DType => supported.includes(d))) {
      const drawn = sampleCases(spec, dtype, casesPerKernel * 3, 20_261_129)
        .filter((c) => spec.buffers(c.dims, dtype).every((b) => supported.includes(b.dtype)))
        .slice(0, casesPerKernel);
      for (const c of drawn) {
        cases++;
        try {
          const outcome = await runKernelCase(ob.kernels, spec, dtype, c);
          if (!outcome.ok) failures.push(outcome.message);
        } catch (cause) {
          failures.push(`${spec.name} [${dtype}]: ${(cause as Error).message.split('\n')[0]}`);
        }
      }
    }
  }
  return { cases, failures };
}
