// The backend-generic autograd suite: every differentiable op's forward and
// gradients on a backend (in f32) against the CPU reference in f64, on the
// same generated cases as the gradcheck suite.

import * as fc from 'fast-check';
import { describe, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Backend } from '../../src/index.js';
import { buildInputs, inputValues, OP_CASES, type OpCase } from './op-cases.js';

export interface AutogradSuiteOptions {
  numRuns?: number;
  rtol?: number;
  atol?: number;
}

interface Outcome { out: number[]; grads: (number[] | null)[] }

async function runCase(backend: Backend, c: OpCase, dtype: 'f64' | 'f32'): Promise<Outcome> {
  const { inputs, out } = g.withBackend(backend, () => {
    const ins = buildInputs(c, dtype);
    const result = g.tidy(() => {
      const o = c.run(...ins);
      const weights = inputValues({ shape: [...o.shape] }, c.seed, 99);
      const w = g.tensor(Float64Array.from(weights), [...o.shape], { dtype: o.dtype as 'f64' | 'f32' });
      g.sum(g.mul(o, w)).backward();
      return o.detach();
    });
    return { inputs: ins, out: result };
  });
  try {
    return {
      out: Array.from(await out.data()),
      grads: await Promise.all(inputs.map(async (t) => (t.grad ? Array.from(await t.grad.data()) : null))),
    };
  } finally {
    g.dispose([...inputs, out]);
    c.cleanup?.();
  }
}

function assertClose(what: string, got: number[], want: number[], rtol: number, atol: number): void {
  if (got.length !== want.length) throw new Error(`${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < got.length; i++) {
    const ok = Number.isNaN(want[i]) ? Number.isNaN(got[i]) : Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]);
    if (!ok) throw new Error(`${what}[${i}]: got ${got[i]}, expected ${want[i]}`);
  }
}

export function autogradSuite(label: string, getBackend: () => Backend, options: AutogradSuiteOptions = {}): void {
  const { numRuns = Number(process.env.GRADLAB_AUTOGRAD_RUNS ?? 6), rtol = 2e-4, atol = 2e-5 } = options;
  describe(`autograd on ${label} (f32) vs CPU f64`, () => {
    const reference = new g.CpuBackend();
    for (const [name, cases] of Object.entries(OP_CASES)) {
      it(`${name}: forward and gradients`, async () => {
        const backend = getBackend();
        await fc.assert(fc.asyncProperty(cases, async (c) => {
          const want = await runCase(reference, c, 'f64');
          const got = await runCase(backend, c, 'f32');
          const tol = c.tolerance ?? { rtol, atol };
          assertClose(`${name} output`, got.out, want.out, tol.rtol, tol.atol);
          got.grads.forEach((gr, i) => {
            if ((gr === null) !== (want.grads[i] === null)) throw new Error(`${name}: input ${i} gradient presence differs`);
            if (gr) assertClose(`${name} grad of input ${i}`, gr, want.grads[i]!, tol.rtol, tol.atol);
          });
        }), { numRuns });
      });
    }
  });
}
