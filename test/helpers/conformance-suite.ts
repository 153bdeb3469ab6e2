// The kernel-spec conformance suite, parameterised by backend: every kernel x
// dtype the backend supports runs generated cases against the f64 reference.
// A summary of how many cases ran per kernel and dtype is printed at the end.

import * as fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { KernelSet } from '../../src/backends/backend.js';
import { runKernelCase, specDTypesFor } from '../../src/backends/conformance.js';
import { KERNEL_SPECS } from '../../src/backends/kernel-specs.js';
import type { DType } from '../../src/tensor/dtype.js';

export interface ConformanceOptions {
  /** Cases per kernel x dtype (fast-check numRuns). */
  numRuns?: number;
  /** Restrict to these dtypes (defaults to the backend's). */
  dtypes?: readonly DType[];
  timeoutMs?: number;
}

export function conformanceSuite(label: string, getKernels: () => KernelSet, options: ConformanceOptions = {}): void {
  const numRuns = options.numRuns ?? Number(process.env.GRADLAB_CONFORMANCE_RUNS ?? 25);
  const counts = new Map<string, number>();
  const notRun: string[] = [];
  describe(`kernel conformance: ${label}`, () => {
    for (const spec of KERNEL_SPECS) {
      for (const dtype of spec.dtypes) {
        it(`${spec.name} [${dtype}]`, async (ctx) => {
          const kernels = getKernels();
          const supported = options.dtypes ?? kernels.capabilities.dtypes;
          if (!specDTypesFor(spec, supported).includes(dtype)) {
            // Listed once per backend after the suite, so a real failure stands out in the log.
            notRun.push(`${spec.name} [${dtype}]`);
            ctx.skip(`${label} does not declare dtype ${dtype}`);
            return;
          }
          // Cases that touch a dtype the backend lacks (a cast to f64 on a GPU) are not drawn.
          const cases = spec.cases(dtype).filter((c) => spec.buffers(c.dims, dtype).every((b) => supported.includes(b.dtype)));
          let ran = 0;
          await fc.assert(
            fc.asyncProperty(cases, async (kcase) => {
              ran++;
              const outcome = await runKernelCase(kernels, spec, dtype, kcase);
              if (!outcome.ok) throw new Error(outcome.message);
            }),
            { numRuns, verbose: false },
          );
          counts.set(`${spec.name} [${dtype}]`, ran);
          expect(ran).toBeGreaterThan(0);
        }, options.timeoutMs ?? 60_000);
      }
    }
    afterAll(() => {
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      const byDType = new Map<string, number>();
      for (const pair of notRun) {
        const dtype = /\[(\w+)\]$/.exec(pair)![1];
        byDType.set(dtype, (byDType.get(dtype) ?? 0) + 1);
      }
      const skipped = notRun.length === 0 ? '' : `; not run (dtype not declared): ${[...byDType].map(([d, n]) => `${n} ${d} pairs`).join(', ')}`;
      console.log(`[conformance ${label}] ${counts.size} kernel x dtype pairs, ${total} cases ran${skipped}`);
    });
  });
}
