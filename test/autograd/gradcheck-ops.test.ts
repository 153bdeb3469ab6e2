// Every registered differentiable op against central finite differences in
// f64, over generated shapes (broadcasting, size-1 axes) and non-contiguous
// input views. A separate test fails if an op has no generated case.

import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { buildInputs, OP_CASES } from '../helpers/op-cases.js';

describe('gradcheck (f64, CPU) of every differentiable op', () => {
  it('every registered op has a gradcheck case', () => {
    const missing = g.registeredOps().map((op) => op.name).filter((name) => !(name in OP_CASES));
    expect(missing).toEqual([]);
  });

  for (const [name, cases] of Object.entries(OP_CASES)) {
    it(`gradcheck ${name}`, async () => {
      await fc.assert(
        fc.asyncProperty(cases, async (c) => {
          const inputs = buildInputs(c, 'f64');
          try {
            const result = await g.gradcheck(c.run, inputs, { eps: 1e-6, atol: 1e-6, rtol: 1e-5, ...c.gradcheck });
            if (!result.ok) throw new Error(`${name}: ${result.failures.join('; ')}`);
            expect(result.checkedElements).toBeGreaterThan(0);
          } finally {
            g.dispose(inputs);
            c.cleanup?.();
          }
        }),
        { numRuns: Number(process.env.GRADLAB_GRADCHECK_RUNS ?? 8) },
      );
    });
  }

  it('gradcheck itself catches a wrong gradient', async () => {
    // A deliberately wrong backward (drops the factor 2 of x^2) must fail.
    const x = g.tensor([0.3, -1.2, 2.0], { dtype: 'f64', requiresGrad: true }).keep();
    const wrong = (t: g.Tensor) => g.add(g.mul(g.noGrad(() => t.detach()), t), 0);
    const result = await g.gradcheck(wrong, [x]);
    expect(result.ok).toBe(false);
    x.dispose();
  });
});
