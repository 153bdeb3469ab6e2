// AdamW on the CPU reference backend: PyTorch goldens in f32 and f64, the
// state-dict round trip, ledger figures and zeroGrad (shared suite), plus
// PyTorch's hyperparameter validation and loadStateDict's checks.

import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { AdamW, type AdamWStateDict } from '../../src/train/adamw.js';
import { adamwSuite } from './helpers/adamw-suite.js';

const cpu = new g.CpuBackend();

// f32: PyTorch rounds after every op (its scalars lr*wd, step size and 1/bias correction
// rounded to f32 too), the CPU kernel once per output from f64. That is an ulp or two per
// step; an element that cancels toward 0 keeps the absolute error of its earlier size. So
// rtol 1e-6 plus 1e-6 x the tensor's largest magnitude (about 16 ulp of it).
// f64: both in f64, differing only in operation order: 1e-14 and 1e-15.
adamwSuite('cpu', cpu, {
  dtypes: ['f32', 'f64'],
  tolerance: { f32: { rtol: 1e-6, atolOfMax: 1e-6 }, f64: { rtol: 1e-14, atolOfMax: 1e-15 } },
});

function param(shape: number[], trainable = true) {
  return g.withBackend(cpu, () => g.zeros(shape, { requiresGrad: trainable }).keep().setStorageRole('parameter', trainable));
}

describe('AdamW validation (PyTorch\'s checks, errors naming the option and value)', () => {
  const p = param([2]);
  const cases: [string, () => unknown, RegExp][] = [
    ['lr < 0', () => new AdamW([p], { lr: -1e-3 }), /learning rate lr=-0\.001/],
    ['lr NaN', () => new AdamW([p], { lr: NaN }), /learning rate lr=NaN/],
    ['eps < 0', () => new AdamW([p], { eps: -1 }), /epsilon eps=-1/],
    ['beta1 = 1', () => new AdamW([p], { betas: [1, 0.999] }), /beta parameter at index 0: betas\[0\]=1/],
    ['beta2 < 0', () => new AdamW([p], { betas: [0.9, -0.5] }), /beta parameter at index 1: betas\[1\]=-0\.5/],
    ['weight decay < 0', () => new AdamW([p], { weightDecay: -0.01 }), /weight_decay weightDecay=-0\.01/],
    ['empty list', () => new AdamW([]), /empty parameter list/],
    ['duplicate', () => new AdamW([p, p]), /parameter 1 .* appears more than once/],
    ['non-leaf', () => new AdamW([g.withBackend(cpu, () => g.mul(g.ones([2], { requiresGrad: true }), 2))]), /non-leaf/],
  ];
  for (const [what, make, message] of cases) {
    it(`rejects ${what}`, () => expect(make).toThrow(message));
  }

  it('accepts the boundary values PyTorch accepts (lr 0, eps 0, beta 0, weight decay 0)', () => {
    expect(() => new AdamW([p], { lr: 0, eps: 0, betas: [0, 0], weightDecay: 0 })).not.toThrow();
  });

  it('lr is settable between steps and validated', () => {
    const opt = new AdamW([p], { lr: 0.1 });
    opt.lr = 0.05;
    expect(opt.lr).toBe(0.05);
    expect(() => { opt.lr = -1; }).toThrow(/learning rate lr=-1/);
    expect(opt.lr).toBe(0.05);
  });
});

describe('AdamW.loadStateDict rejects a state dict that does not fit, changing nothing', () => {
  async function saved() {
    const w = param([2, 3]);
    const b = param([3]);
    const frozen = param([4], false);
    const opt = new AdamW([w, b, frozen], { lr: 0.01 });
    w.grad = g.withBackend(cpu, () => g.ones([2, 3]).keep());
    b.grad = g.withBackend(cpu, () => g.ones([3]).keep());
    opt.step();
    return { opt, params: [w, b, frozen], dict: await opt.stateDict() };
  }
  const edit = (d: AdamWStateDict, fn: (c: AdamWStateDict) => void): AdamWStateDict => {
    const copy = structuredClone(d);
    fn(copy);
    return copy;
  };

  const cases: [string, (d: AdamWStateDict) => AdamWStateDict, RegExp][] = [
    ['a different parameter count', (d) => edit(d, (c) => { c.param_groups[0].params = [0, 1]; }), /has 2 parameters; this optimizer has 3/],
    ['two parameter groups', (d) => edit(d, (c) => { c.param_groups.push(c.param_groups[0]); }), /2 parameter groups/],
    ['a transposed shape', (d) => edit(d, (c) => { c.state[0].exp_avg.shape = [3, 2]; }), /state entry 0\.exp_avg has shape \[3, 2\]; parameter 0 .* has \[2, 3\]/],
    ['another dtype', (d) => edit(d, (c) => { c.state[1].exp_avg_sq = { dtype: 'f64', shape: [3], data: new Float64Array(3) }; }), /state entry 1\.exp_avg_sq has dtype f64; parameter 1 .* needs f32/],
    ['too few elements', (d) => edit(d, (c) => { c.state[1].exp_avg.data = new Float32Array(2); }), /state entry 1\.exp_avg: data \(Float32Array, 2 elements\) does not hold 3 f32 elements/],
    ['an index naming no parameter', (d) => edit(d, (c) => { c.state[7] = c.state[0]; }), /state entry 7 names no parameter/],
    ['state for a frozen parameter', (d) => edit(d, (c) => { c.state[2] = { ...c.state[1], exp_avg: { ...c.state[1].exp_avg, shape: [4], data: new Float32Array(4) } }; }), /parameter 2 .* does not require grad/],
    ['a step of 0', (d) => edit(d, (c) => { c.state[0].step = 0; }), /step must be a positive integer, got 0/],
    ['an invalid lr', (d) => edit(d, (c) => { c.param_groups[0].lr = -2; }), /learning rate lr=-2/],
    ['an invalid beta', (d) => edit(d, (c) => { c.param_groups[0].betas = [0.9, 1.5]; }), /betas\[1\]=1\.5/],
  ];
  for (const [what, corrupt, message] of cases) {
    it(`with ${what}`, async () => {
      const { opt, params, dict } = await saved();
      const bytes = opt.stateBytes;
      expect(() => opt.loadStateDict(corrupt(dict))).toThrow(message);
      expect(opt.stateBytes).toBe(bytes);
      expect(opt.lr).toBe(0.01);
      const after = await opt.stateDict();
      expect(Buffer.from((after.state[0].exp_avg.data as Float32Array).buffer).equals(Buffer.from((dict.state[0].exp_avg.data as Float32Array).buffer))).toBe(true);
      opt.dispose();
      g.dispose(params);
    });
  }
});
