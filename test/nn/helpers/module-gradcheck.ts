// Central finite differences (f64, CPU) for a module's parameters and its
// inputs. The engine's gradcheck differentiates with respect to its own
// detached copies of the inputs, which a module's forward never sees (it
// reads its own parameter handles), so this variant perturbs the parameter
// storages in place and reads the gradients from the parameters themselves.
// The generator state is restored before every evaluation, so modules with
// dropout see the same mask each time (as checkpoint() replays it).

import * as g from '../../../src/index.js';
import { normalFromUniforms, philoxWords, uniformFromWord } from '../../../src/tensor/philox.js';

export interface ModuleGradcheckResult {
  readonly failures: string[];
  readonly checkedElements: number;
  readonly maxAbsError: number;
}

function normals(n: number, seed: number): Float64Array {
  const words = new Uint32Array(2 * n);
  philoxWords(seed, 0, words);
  return Float64Array.from({ length: n }, (_, i) => normalFromUniforms(uniformFromWord(words[2 * i]), uniformFromWord(words[2 * i + 1])));
}

/** Overwrites every parameter with seeded values: N(0, scale^2), or 1 + N(0, 0.3^2) for norm weights. */
export function randomizeParameters(module: g.Module, seed: number, scale = 0.5): void {
  module.namedParameters().forEach(([name, p], i) => {
    const z = normals(p.numel, seed * 1000 + i);
    const values = name.endsWith('norm.weight') ? z.map((v) => 1 + 0.3 * v) : z.map((v) => scale * v);
    g.tidy(() => module.loadStateDict(new Map([[name, g.tensor(values, [...p.shape], { dtype: 'f64' })]]), { strict: false }));
  });
}

/** An f64 leaf with seeded N(0, 1) values. */
export function f64Input(shape: number[], seed: number, requiresGrad = true): g.Tensor {
  return g.tensor(normals(shape.reduce((a, b) => a * b, 1), seed), shape, { dtype: 'f64', requiresGrad }).keep();
}

/**
 * Checks d/dθ sum(run() * r) for every trainable parameter of `module` and
 * every input with requiresGrad, element by element.
 */
export async function moduleGradcheck(
  module: g.Module, run: () => g.Tensor, inputs: g.Tensor[], options: { eps?: number; atol?: number; rtol?: number } = {},
): Promise<ModuleGradcheckResult> {
  const { eps = 1e-6, atol = 1e-7, rtol = 1e-5 } = options;
  const generator = g.getGeneratorState();
  const targets: [string, g.Tensor][] = [
    ...module.namedParameters().filter(([, p]) => p.requiresGrad),
    ...inputs.filter((t) => t.requiresGrad).map((t, i) => [`input ${i}`, t] as [string, g.Tensor]),
  ];
  for (const [name, t] of targets) {
    if (t.dtype !== 'f64' || !t.isDense) throw new Error(`moduleGradcheck: ${name} must be a dense f64 tensor`);
    t.grad?.dispose();
    t.grad = null;
  }
  let projection: g.Tensor | null = null;
  const objective = () => {
    g.setGeneratorState(generator);
    const out = run();
    projection ??= g.tensor(normals(out.numel, 99), [...out.shape], { dtype: 'f64' }).keep();
    return g.sum(g.mul(out, projection));
  };
  const loss = g.tidy(objective).keep();
  loss.backward();
  loss.dispose();
  const analytic = new Map<g.Tensor, Float64Array>();
  for (const [name, t] of targets) {
    if (!t.grad) throw new Error(`moduleGradcheck: ${name} got no gradient`);
    analytic.set(t, (await t.grad.data()) as Float64Array);
  }
  const evaluate = async () => {
    const l = g.noGrad(() => g.tidy(objective)).keep();
    try { return await l.item(); } finally { l.dispose(); }
  };
  const failures: string[] = [];
  let checkedElements = 0;
  let maxAbsError = 0;
  for (const [name, t] of targets) {
    const values = (await t.data()) as Float64Array;
    const write = (i: number, v: number) => t.context.kernels.write(t.storage.buffer, Float64Array.of(v), i);
    for (let i = 0; i < t.numel; i++) {
      write(i, values[i] + eps);
      const plus = await evaluate();
      write(i, values[i] - eps);
      const minus = await evaluate();
      write(i, values[i]);
      const numeric = (plus - minus) / (2 * eps);
      const err = Math.abs(numeric - analytic.get(t)![i]);
      maxAbsError = Math.max(maxAbsError, err);
      checkedElements++;
      if (!(err <= atol + rtol * Math.abs(numeric)) && failures.length < 10) {
        failures.push(`${name} element ${i}: analytic ${analytic.get(t)![i]}, numeric ${numeric}`);
      }
    }
  }
  (projection as g.Tensor | null)?.dispose();
  g.setGeneratorState(generator);
  return { failures, checkedElements, maxAbsError };
}
