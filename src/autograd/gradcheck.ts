// gradcheck: compares the tape's gradients with central finite differences.
// The output is projected onto fixed random weights r (L = sum(out * r)), so
// one backward checks the full vector-Jacobian product; the numeric side
// perturbs each input element in place by +-eps. Use f64 inputs.

import { decodeF16Array } from '../tensor/f16.js';
import { fromHost } from '../tensor/kernel-ops.js';
import { normalFromUniforms, philoxWords, uniformFromWord } from '../tensor/philox.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { backward } from './backward.js';
import { mul, sum } from './functional.js';
import { noGrad } from './grad-mode.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed of the projection weights. */
  seed?: number;
}

export interface GradcheckResult {
  readonly ok: boolean;
  readonly checkedElements: number;
  readonly maxAbsError: number;
  readonly failures: string[];
}

function projectionWeights(shape: readonly number[], seed: number, ctx: Tensor['context']): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const words = new Uint32Array(2 * n);
  philoxWords(seed, 0, words);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = normalFromUniforms(uniformFromWord(words[2 * i]), uniformFromWord(words[2 * i + 1]));
  return fromHost(values, shape, 'f64', ctx).keep();
}

/** Storage offsets of every logical element of t (row-major); throws if two elements share one. */
function elementOffsets(t: Tensor): number[] {
  const offsets: number[] = [];
  const index = new Array<number>(t.rank).fill(0);
  for (let n = 0; n < t.numel; n++) {
    offsets.push(index.reduce((o, v, i) => o + v * t.strides[i], t.offset));
    for (let a = t.rank - 1; a >= 0; a--) {
      if (++index[a] < t.shape[a]) break;
      index[a] = 0;
    }
  }
  if (new Set(offsets).size !== offsets.length) throw new Error(`gradcheck: input ${t.describe()} has overlapping elements (a broadcast view); pass a materialized tensor`);
  return offsets;
}

export async function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradcheckOptions = {}): Promise<GradcheckResult> {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-4, seed = 1234 } = options;
  const checked = inputs.map((t) => t.requiresGrad);
  for (const [i, t] of inputs.entries()) {
    if (checked[i] && t.dtype !== 'f64') throw new Error(`gradcheck: input ${i} ${t.describe()} must be f64 for finite differences to be meaningful`);
  }
  // Leaves sharing each input's storage and layout (views included), so gradients land on them.
  const leaves = inputs.map((t, i) => {
    const leaf = t.detach().keep();
    leaf.requiresGrad = checked[i];
    return leaf;
  });
  let weights: Tensor | null = null;
  try {
    const loss = tidy(() => {
      const out = fn(...leaves);
      weights = projectionWeights(out.shape, seed, out.context);
      return sum(mul(out, weights.cast(out.dtype)));
    }).keep();
    if (!loss.requiresGrad) {
      loss.dispose();
      throw new Error('gradcheck: the output does not depend on any input with requiresGrad');
    }
    backward(loss);
    loss.dispose();
    const evaluate = async (): Promise<number> => {
      const l = noGrad(() => tidy(() => sum(mul(fn(...leaves), weights!.cast('f64')))).keep());
      try { return await l.item(); } finally { l.dispose(); }
    };
    const failures: string[] = [];
    let maxAbsError = 0;
    let checkedElements = 0;
    for (const [i, leaf] of leaves.entries()) {
      if (!checked[i]) continue;
      const analytic = leaf.grad ? await leaf.grad.data() : new Float64Array(leaf.numel);
      const kernels = leaf.context.kernels;
      const raw = await leaf.context.backend.read(leaf.storage.buffer);
      const base = raw instanceof Uint16Array ? decodeF16Array(raw, new Float64Array(raw.length)) : raw;
      const offsets = elementOffsets(leaf);
      for (const [j, at] of offsets.entries()) {
        const original = base[at];
        kernels.write(leaf.storage.buffer, new Float64Array([original + eps]), at);
        const plus = await evaluate();
        kernels.write(leaf.storage.buffer, new Float64Array([original - eps]), at);
        const minus = await evaluate();
        kernels.write(leaf.storage.buffer, new Float64Array([original]), at);
        const numeric = (plus - minus) / (2 * eps);
        const err = Math.abs(analytic[j] - numeric);
        maxAbsError = Math.max(maxAbsError, err);
        checkedElements++;
        if (!(err <= atol + rtol * Math.abs(numeric)) && failures.length < 10) {
          failures.push(`input ${i} ${leaf.describe()} element ${j}: analytic ${analytic[j]}, numeric ${numeric}`);
        }
      }
    }
    return { ok: failures.length === 0, checkedElements, maxAbsError, failures };
  } finally {
    for (const l of leaves) l.dispose();
    (weights as Tensor | null)?.dispose();
  }
}
