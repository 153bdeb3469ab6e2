// AdamW behaviour on one backend: the PyTorch goldens, the state-dict round
// trip (bitwise identical continuation), and the ledger's optimizer-state
// bytes around step(). The CPU and WebGPU test files call this with their
// backend, so both run the same checks.

import { describe, expect, it } from 'vitest';
import * as g from '../../../src/index.js';
import type { Backend, Tensor } from '../../../src/index.js';
import { AdamW, type AdamWOptions, type AdamWStateDict } from '../../../src/train/adamw.js';
import { GOLDEN_CASES, golden, goldenArrays, goldenCase, type GoldenCaseName } from './optimizer-goldens.js';

/**
 * |got - expected| <= rtol |expected| + atolOfMax max|expected over the tensor|: elements that
 * cancel toward 0 (p - lr*update) keep errors of the size of the tensor's larger values.
 */
export interface Tolerance { rtol: number; atolOfMax: number }

export function goldenParams(backend: Backend, name: GoldenCaseName, dtype: 'f32' | 'f64'): Tensor[] {
  const c = goldenCase(name);
  const arrays = goldenArrays(name, dtype);
  return g.withBackend(backend, () => c.params.map((p, i) =>
    g.tensor(golden(arrays, `init.p${i}`).slice(), p.shape, { requiresGrad: p.requires_grad }).keep().setStorageRole('parameter', p.requires_grad)));
}

/** Sets (or clears) every parameter's .grad to the golden gradients of step k. */
export function setGoldenGrads(backend: Backend, params: Tensor[], name: GoldenCaseName, dtype: 'f32' | 'f64', k: number): void {
  const c = goldenCase(name);
  const arrays = goldenArrays(name, dtype);
  params.forEach((p, i) => {
    p.grad?.dispose();
    p.grad = c.grads[k][i]
      ? g.withBackend(backend, () => g.tensor(golden(arrays, `step${k}.grad.p${i}`).slice(), c.params[i].shape).keep().setStorageRole('gradient'))
      : null;
  });
}

export function newGoldenOptimizer(params: Tensor[], name: GoldenCaseName): AdamW {
  const { hyper } = goldenCase(name);
  return new AdamW(params, { lr: hyper.lr, betas: hyper.betas, eps: hyper.eps, weightDecay: hyper.weight_decay });
}

/** Largest |got - expected| / allowed; <= 1 passes. */
function worstRatio(got: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): number {
  expect(got.length).toBe(expected.length);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const allowed = tol.atolOfMax * scale + tol.rtol * Math.abs(expected[i]);
    const diff = Math.abs(got[i] - expected[i]);
    const ratio = diff === 0 ? 0 : diff / allowed;
    worst = Math.max(worst, Number.isNaN(ratio) ? Infinity : ratio);
  }
  return worst;
}

const bits = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function expectSameBits(a: ArrayBufferView, b: ArrayBufferView, what: string): void {
  expect(bits(a).equals(bits(b)), `${what}: not bitwise identical`).toBe(true);
}

export function adamwSuite(label: string, backend: Backend, options: { dtypes: ('f32' | 'f64')[]; tolerance: Record<'f32' | 'f64', Tolerance> }): void {
  describe(`AdamW against PyTorch's torch.optim.AdamW (${label})`, () => {
    for (const name of GOLDEN_CASES) {
      for (const dtype of options.dtypes) {
        it(`${name}, ${dtype}: parameters and exp_avg/exp_avg_sq after every step, and the final state's steps`, async () => {
          const c = goldenCase(name);
          const arrays = goldenArrays(name, dtype);
          const tol = options.tolerance[dtype];
          const params = goldenParams(backend, name, dtype);
          const opt = newGoldenOptimizer(params, name);
          let worst = 0;
          let dict: AdamWStateDict | null = null;
          try {
            for (let k = 0; k < c.lrs.length; k++) {
              opt.lr = c.lrs[k];
              setGoldenGrads(backend, params, name, dtype, k);
              opt.step();
              dict = await opt.stateDict();
              for (let i = 0; i < params.length; i++) {
                const r = worstRatio(await params[i].data(), golden(arrays, `step${k}.param.p${i}`), tol);
                expect(r, `step ${k} param ${i}`).toBeLessThanOrEqual(1);
                worst = Math.max(worst, r);
                const state = dict.state[i];
                expect(state !== undefined, `step ${k}: state of param ${i} exists as in torch`).toBe(arrays.has(`step${k}.exp_avg.p${i}`));
                if (!state) continue;
                for (const key of ['exp_avg', 'exp_avg_sq'] as const) {
                  const rs = worstRatio(state[key].data as Float32Array, golden(arrays, `step${k}.${key}.p${i}`), tol);
                  expect(rs, `step ${k} ${key} ${i}`).toBeLessThanOrEqual(1);
                  worst = Math.max(worst, rs);
                }
              }
            }
            const steps = Object.fromEntries(Object.entries(dict!.state).map(([i, s]) => [i, s.step]));
            expect(steps).toEqual(c.final_state_steps);
            console.log(`[adamw golden ${label}] ${name} ${dtype}: worst error ${worst.toExponential(2)} of the tolerance (rtol ${tol.rtol}, atol ${tol.atolOfMax} x the tensor's max)`);
          } finally {
            opt.dispose();
            g.dispose(params);
          }
        });
      }
    }

    it('the general case\'s eps and weight decay matter (a wrong eps or no decay misses the golden)', async () => {
      // Guards the golden comparison itself: the tolerance cannot hide these hyperparameters.
      const guards: [AdamWOptions, GoldenCaseName][] = [[{ eps: 1e-3 }, 'tiny-eps'], [{ weightDecay: 0 }, 'general']];
      for (const [override, name] of guards) {
        const dtype = options.dtypes[0];
        const c = goldenCase(name);
        const params = goldenParams(backend, name, dtype);
        const base: AdamWOptions = { lr: c.hyper.lr, betas: c.hyper.betas, eps: c.hyper.eps, weightDecay: c.hyper.weight_decay };
        const opt = new AdamW(params, { ...base, ...override });
        setGoldenGrads(backend, params, name, dtype, 0);
        opt.step();
        const r = worstRatio(await params[0].data(), golden(goldenArrays(name, dtype), 'step0.param.p0'), options.tolerance[dtype]);
        expect(r).toBeGreaterThan(1);
        opt.dispose();
        g.dispose(params);
      }
    });
  });

  describe(`AdamW state dict (${label})`, () => {
    it('resuming from stateDict() continues bit for bit: parameters and state equal an uninterrupted run', async () => {
      const name = 'general';
      const dtype = 'f32';
      const c = goldenCase(name);
      const paramsA = goldenParams(backend, name, dtype);
      const optA = newGoldenOptimizer(paramsA, name);
      const resumeAt = 3;
      for (let k = 0; k < resumeAt; k++) { optA.lr = c.lrs[k]; setGoldenGrads(backend, paramsA, name, dtype, k); optA.step(); }
      const saved = await optA.stateDict();

      // PyTorch's layout: no entry for the frozen parameter 2; the group lists every index.
      expect(Object.keys(saved.state).sort()).toEqual(['0', '1', '3']);
      expect(saved.param_groups).toEqual([{ lr: c.lrs[resumeAt - 1], betas: c.hyper.betas, eps: c.hyper.eps, weight_decay: c.hyper.weight_decay, amsgrad: false, maximize: false, params: [0, 1, 2, 3] }]);
      expect(saved.state[0].exp_avg.shape).toEqual([3, 4]);
      expect(saved.state[0].exp_avg.dtype).toBe('f32');
      expect(saved.state[0].exp_avg.data).toBeInstanceOf(Float32Array);

      // A fresh optimizer with other hyperparameters, on parameters copied bit for bit.
      const copies = await Promise.all(paramsA.map((p) => p.rawData()));
      const paramsB = g.withBackend(backend, () => paramsA.map((p, i) =>
        g.tensor(copies[i] as Float32Array, p.shape, { requiresGrad: p.requiresGrad }).keep().setStorageRole('parameter', p.requiresGrad)));
      const optB = new AdamW(paramsB, { lr: 0.5, betas: [0.5, 0.5], eps: 0.1, weightDecay: 0 });
      optB.loadStateDict(saved);
      expect([optB.lr, optB.beta1, optB.beta2, optB.eps, optB.weightDecay]).toEqual([c.lrs[resumeAt - 1], ...c.hyper.betas, c.hyper.eps, c.hyper.weight_decay]);
      expect(optB.stateBytes).toBe(optA.stateBytes);
      const reloaded = await optB.stateDict();
      for (const i of [0, 1, 3]) {
        expect(reloaded.state[i].step).toBe(saved.state[i].step);
        expectSameBits(reloaded.state[i].exp_avg.data, saved.state[i].exp_avg.data, `reloaded exp_avg ${i}`);
        expectSameBits(reloaded.state[i].exp_avg_sq.data, saved.state[i].exp_avg_sq.data, `reloaded exp_avg_sq ${i}`);
      }

      for (let k = resumeAt; k < c.lrs.length; k++) {
        for (const [opt, params] of [[optA, paramsA], [optB, paramsB]] as const) {
          opt.lr = c.lrs[k];
          setGoldenGrads(backend, params, name, dtype, k);
          opt.step();
        }
      }
      const [endA, endB] = await Promise.all([optA.stateDict(), optB.stateDict()]);
      for (let i = 0; i < paramsA.length; i++) expectSameBits(await paramsA[i].rawData(), await paramsB[i].rawData(), `param ${i}`);
      expect(Object.keys(endB.state)).toEqual(Object.keys(endA.state));
      for (const i of Object.keys(endA.state).map(Number)) {
        expect(endB.state[i].step).toBe(endA.state[i].step);
        expectSameBits(endB.state[i].exp_avg.data, endA.state[i].exp_avg.data, `exp_avg ${i}`);
        expectSameBits(endB.state[i].exp_avg_sq.data, endA.state[i].exp_avg_sq.data, `exp_avg_sq ${i}`);
      }
      optA.dispose(); optB.dispose();
      g.dispose([...paramsA, ...paramsB]);
    });

    it('stateDict() snapshots the moment of the call, even if a step runs before it resolves', async () => {
      const params = goldenParams(backend, 'general', 'f32');
      const opt = newGoldenOptimizer(params, 'general');
      setGoldenGrads(backend, params, 'general', 'f32', 0);
      opt.step();
      const before = await opt.stateDict();
      const pending = opt.stateDict();
      setGoldenGrads(backend, params, 'general', 'f32', 1);
      opt.step();
      const snap = await pending;
      expect(snap.state[0].step).toBe(1);
      expectSameBits(snap.state[0].exp_avg.data, before.state[0].exp_avg.data, 'exp_avg at the call');
      opt.dispose();
      g.dispose(params);
    });
  });

  describe(`AdamW memory ledger (${label})`, () => {
    it('optimizer state appears at the first step with a gradient: 2 x trainable parameter bytes, none for frozen, then constant', () => {
      const report = () => g.withBackend(backend, () => g.memoryReport());
      const base = report().live.optimizerState;
      const make = (shape: number[], trainable: boolean) => g.withBackend(backend, () =>
        g.zeros(shape, { requiresGrad: trainable }).keep().setStorageRole('parameter', trainable));
      const a = make([3, 4], true); // 48 B
      const b = make([5], true); // 20 B
      const frozen = make([7, 2], false); // 56 B, never state
      const late = make([2, 2], true); // 16 B, first grad at the second step
      const opt = new AdamW([a, b, frozen, late], { lr: 0.1 });
      const grad = (shape: number[]) => g.withBackend(backend, () => g.ones(shape).keep().setStorageRole('gradient'));
      a.grad = grad([3, 4]);
      b.grad = grad([5]);
      frozen.grad = grad([7, 2]); // a stray grad on a frozen parameter gets no state either

      expect(report().live.optimizerState).toBe(base);
      const before = report();
      g.withBackend(backend, () => g.resetPeakMemory());
      opt.step();
      const after1 = report();
      expect(after1.live.optimizerState - base).toBe(2 * (48 + 20));
      expect(opt.stateBytes).toBe(2 * (48 + 20));
      // Nothing but the state was allocated, not even for a moment.
      expect(after1.liveTotal - before.liveTotal).toBe(2 * (48 + 20));
      expect(after1.peakTotal).toBe(after1.liveTotal);
      expect(after1.live.temporaries).toBe(before.live.temporaries);

      late.grad = grad([2, 2]);
      opt.step();
      const after2 = report();
      expect(after2.live.optimizerState - base).toBe(2 * (48 + 20 + 16));

      for (let k = 0; k < 3; k++) {
        g.withBackend(backend, () => g.resetPeakMemory());
        const steady = report();
        opt.step();
        const r = report();
        expect(r.live).toEqual(steady.live);
        expect(r.peakTotal).toBe(steady.liveTotal);
      }

      opt.dispose();
      expect(report().live.optimizerState).toBe(base);
      g.dispose([a, b, frozen, late]);
    });

    it('loadStateDict() ledgers the restored state as optimizer state, replacing (not adding to) the old', async () => {
      const report = () => g.withBackend(backend, () => g.memoryReport());
      const params = goldenParams(backend, 'general', 'f32');
      const opt = newGoldenOptimizer(params, 'general');
      const base = report().live.optimizerState;
      setGoldenGrads(backend, params, 'general', 'f32', 1);
      opt.step();
      const trainableWithState = (3 * 4 + 5 + 2 * 2) * 4;
      expect(report().live.optimizerState - base).toBe(2 * trainableWithState);
      const saved = await opt.stateDict();
      opt.loadStateDict(saved);
      expect(report().live.optimizerState - base).toBe(2 * trainableWithState);
      opt.dispose();
      expect(report().live.optimizerState).toBe(base);
      g.dispose(params);
    });
  });

  describe(`AdamW.zeroGrad (${label})`, () => {
    it('frees gradients by default (set_to_none) and zeroes them in place with {setToNone: false}', async () => {
      const report = () => g.withBackend(backend, () => g.memoryReport());
      const p = g.withBackend(backend, () => g.ones([4], { requiresGrad: true }).keep().setStorageRole('parameter', true));
      const opt = new AdamW([p]);
      const gradBase = report().live.gradients;
      p.grad = g.withBackend(backend, () => g.tensor([1, -2, 3, 4]).keep().setStorageRole('gradient'));
      const storage = p.grad.storage;
      const version = storage.version;
      opt.zeroGrad({ setToNone: false });
      expect(p.grad).not.toBeNull();
      expect(p.grad!.storage).toBe(storage);
      expect(storage.version).toBeGreaterThan(version);
      expect(Array.from(await p.grad!.data())).toEqual([0, 0, 0, 0]);
      expect(report().live.gradients - gradBase).toBe(16);
      opt.zeroGrad();
      expect(p.grad).toBeNull();
      expect(report().live.gradients).toBe(gradBase);
      opt.dispose();
      p.dispose();
    });
  });
}
