// GradScaler behaviour on one backend: PyTorch's state machine against a
// model of its rules (fast-check over random sequences of finite and
// non-finite steps), an injected overflow that skips AdamW's step and halves
// the scale, the errors, exactly one readback per step, and the ledger.

import * as fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import * as g from '../../../src/index.js';
import type { Backend, Tensor } from '../../../src/index.js';
import { AdamW } from '../../../src/train/adamw.js';
import { GradScaler, type GradScalerOptimizer } from '../../../src/train/grad-scaler.js';
import { PyTorchGradScalerModel } from './pytorch-grad-scaler-model.js';

const F32_MIN_NORMAL = 2 ** -126;
const bits = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** An optimizer that only counts its steps. */
class CountingOptimizer implements GradScalerOptimizer {
  steps = 0;
  constructor(readonly parameters: readonly Tensor[]) {}
  step(): void { this.steps++; }
}

interface Iteration {
  grads: number[][];
  /** 'inf' / 'nan' replace one element of parameter 0's grad. */
  kind: 'finite' | 'inf' | 'nan';
  badIndex: number;
  /** Parameter 1 has no grad this iteration (skipped by unscale). */
  secondGradNull: boolean;
  explicitUnscale: boolean;
  misuse: 'none' | 'unscaleTwice' | 'unscaleAfterStep' | 'stepTwice';
  newScale: number | null;
  /** Save the scaler's state and continue with a fresh scaler that loads it. */
  resume: boolean;
}

const f32 = fc.float({ min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true }).map(Math.fround);
const iterationArb: fc.Arbitrary<Iteration> = fc.record({
  grads: fc.tuple(fc.array(f32, { minLength: 3, maxLength: 3 }), fc.array(f32, { minLength: 2, maxLength: 2 })),
  kind: fc.constantFrom<'finite' | 'inf' | 'nan'>('finite', 'finite', 'finite', 'inf', 'nan'),
  badIndex: fc.integer({ min: 0, max: 2 }),
  secondGradNull: fc.boolean(),
  explicitUnscale: fc.boolean(),
  misuse: fc.constantFrom<Iteration['misuse']>('none', 'none', 'none', 'none', 'unscaleTwice', 'unscaleAfterStep', 'stepTwice'),
  newScale: fc.option(fc.constantFrom(1, 1024, 3.3, 2 ** 20), { freq: 8 }),
  resume: fc.constantFrom(false, false, false, true),
});
const configArb = fc.record({
  initScale: fc.constantFrom(2 ** 16, 1, 3.7, 1e-3, 2 ** 127),
  growthFactor: fc.constantFrom(2, 1.5, 4, 1.1),
  backoffFactor: fc.constantFrom(0.5, 0.25, 0.9),
  growthInterval: fc.integer({ min: 1, max: 4 }),
});

function expectUnscaled(got: ArrayLike<number>, scaled: number[], inv: number, what: string): void {
  scaled.forEach((s, i) => {
    const want = Math.fround(s * inv);
    if (Number.isNaN(want)) expect(Number.isNaN(got[i]), `${what}[${i}] NaN`).toBe(true);
    // A GPU may flush an f32 subnormal result to zero.
    else if (Math.abs(want) < F32_MIN_NORMAL && got[i] === 0) return;
    else expect(got[i], `${what}[${i}]: ${s} x ${inv}`).toBe(want);
  });
}

export function gradScalerSuite(label: string, backend: Backend, options: { propertyRuns: number }): void {
  const on = <T>(fn: () => T) => g.withBackend(backend, fn);
  const param = (values: number[]) => on(() => g.tensor(values, { requiresGrad: true }).keep().setStorageRole('parameter', true));
  const setGrad = (p: Tensor, values: number[] | null) => {
    p.grad?.dispose();
    p.grad = values ? on(() => g.tensor(values).keep().setStorageRole('gradient')) : null;
  };

  describe(`GradScaler follows PyTorch's rules (${label})`, () => {
    it(`random sequences of finite and non-finite steps match the model of PyTorch's GradScaler (${options.propertyRuns} runs)`, async () => {
      await fc.assert(fc.asyncProperty(configArb, fc.array(iterationArb, { minLength: 1, maxLength: 12 }), async (config, iterations) => {
        const p0 = param([0, 0, 0]);
        const p1 = param([0, 0]);
        const opt = new CountingOptimizer([p0, p1]);
        const model = new PyTorchGradScalerModel(config);
        let scaler = new GradScaler(config);
        let modelSteps = 0;
        let checks = 0;
        try {
          for (const it of iterations) {
            // scale(): the loss is multiplied by the model's f32 scale.
            const factor = model.scale();
            const loss = on(() => g.tensor([1.5]));
            const scaled = scaler.scale(loss);
            expect(await scaled.item()).toBe(Math.fround(1.5 * factor));
            g.dispose([loss, scaled]);

            const grads0 = [...it.grads[0]];
            if (it.kind !== 'finite') grads0[it.badIndex] = it.kind === 'inf' ? Infinity : NaN;
            setGrad(p0, grads0);
            setGrad(p1, it.secondGradNull ? null : it.grads[1]);
            const bad = it.kind !== 'finite';

            let inv = Math.fround(1 / factor);
            if (it.explicitUnscale || it.misuse === 'unscaleTwice') {
              inv = model.unscale(true, bad);
              scaler.unscale(opt);
            }
            if (it.misuse === 'unscaleTwice') {
              expect(() => model.unscale(true, bad)).toThrow(/already been called/);
              expect(() => scaler.unscale(opt)).toThrow('unscale_() has already been called on this optimizer since the last update().');
            }
            const modelStepped = model.step(true, bad);
            const stepped = await scaler.step(opt);
            checks++;
            expect(stepped).toBe(modelStepped);
            if (modelStepped) modelSteps++;
            expect(opt.steps).toBe(modelSteps);
            expectUnscaled(await p0.grad!.data(), grads0, inv, 'grad 0');
            if (!it.secondGradNull) expectUnscaled(await p1.grad!.data(), it.grads[1], inv, 'grad 1');
            else expect(p1.grad).toBeNull();

            if (it.misuse === 'unscaleAfterStep') {
              expect(() => model.unscale(true, bad)).toThrow(/after step/);
              expect(() => scaler.unscale(opt)).toThrow('unscale_() is being called after step().');
            }
            if (it.misuse === 'stepTwice') {
              expect(() => model.step(true, bad)).toThrow(/already been called/);
              await expect(scaler.step(opt)).rejects.toThrow('step() has already been called since the last update().');
            }

            model.update(it.newScale ?? undefined);
            await scaler.update(it.newScale ?? undefined);
            expect(scaler.getScale()).toBe(model.getScale());
            expect(scaler.stateDict()).toEqual(model.stateDict());
            // One readback per step, however it was driven.
            expect(scaler.readbackCount).toBe(checks);

            if (it.resume) {
              const saved = scaler.stateDict();
              scaler.dispose();
              scaler = new GradScaler({ initScale: 5, growthInterval: 7 });
              scaler.loadStateDict(saved);
              expect(scaler.getScale()).toBe(model.getScale());
              expect(scaler.stateDict()).toEqual(model.stateDict());
              checks = 0;
            }
          }
        } finally {
          scaler.dispose();
          g.dispose([p0, p1]);
        }
      }), { numRuns: options.propertyRuns });
    });

    it('hand-derived: defaults, growth at the interval, backoff on overflow, no growth past f32', async () => {
      const scaler = new GradScaler({ growthInterval: 3 });
      expect(scaler.stateDict()).toEqual({ scale: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 3, _growth_tracker: 0 });
      expect(new GradScaler().stateDict()).toEqual({ scale: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000, _growth_tracker: 0 });
      const p = param([1, 2]);
      const opt = new CountingOptimizer([p]);
      const iterate = async (grad: number[]) => {
        g.dispose(scaler.scale(on(() => g.tensor([1]))));
        setGrad(p, grad);
        const stepped = await scaler.step(opt);
        await scaler.update();
        return [stepped, scaler.getScale(), (scaler.stateDict() as { _growth_tracker: number })._growth_tracker];
      };
      expect(await iterate([1, 1])).toEqual([true, 65536, 1]);
      expect(await iterate([1, 1])).toEqual([true, 65536, 2]);
      expect(await iterate([1, 1])).toEqual([true, 131072, 0]);
      expect(await iterate([1, Infinity])).toEqual([false, 65536, 0]);
      expect(await iterate([NaN, 1])).toEqual([false, 32768, 0]);
      expect(opt.steps).toBe(3);

      const top = new GradScaler({ initScale: 2 ** 127, growthInterval: 1 });
      g.dispose(top.scale(on(() => g.tensor([1]))));
      setGrad(p, [0, 0]);
      expect(await top.step(opt)).toBe(true);
      await top.update();
      // 2^128 is not an f32: the scale stays, the tracker still resets.
      expect(top.stateDict()).toMatchObject({ scale: 2 ** 127, _growth_tracker: 0 });
      g.dispose([p]);
    });
  });

  describe(`GradScaler with AdamW and autograd (${label})`, () => {
    function setup(x: number[]) {
      const w = param([0.5, -1, 2]);
      const xs = on(() => g.tensor(x).keep());
      const opt = new AdamW([w], { lr: 0.1 });
      // loss = sum(w * x): dloss/dw = x.
      const lossOf = () => on(() => g.sum(g.mul(w, xs)));
      return { w, xs, opt, lossOf };
    }

    it('scale(loss) multiplies by the scale through autograd: grads are x * scale exactly', async () => {
      const { w, xs, opt, lossOf } = setup([1, -0.25, 3]);
      const scaler = new GradScaler();
      const loss = lossOf();
      const scaled = scaler.scale(loss);
      expect(await scaled.item()).toBe((0.5 * 1 + -1 * -0.25 + 2 * 3) * 65536);
      scaled.backward();
      expect(Array.from(await w.grad!.data())).toEqual([65536, -0.25 * 65536, 3 * 65536]);
      scaler.unscale(opt);
      expect(Array.from(await w.grad!.data())).toEqual([1, -0.25, 3]);
      g.dispose([loss, scaled, w, xs]);
      scaler.dispose();
      opt.dispose();
    });

    it('an f16 loss is scaled in f32, as PyTorch promotes it against its f32 scale (65536 x 2 overflows f16)', async () => {
      const scaler = new GradScaler();
      const loss = on(() => g.tensor([2], { dtype: 'f16' }));
      const scaled = scaler.scale(loss);
      expect(scaled.dtype).toBe('f32');
      expect(await scaled.item()).toBe(131072);
      g.dispose([loss, scaled]);
    });

    for (const bad of [Infinity, NaN]) {
      it(`an injected ${bad} gradient skips AdamW's step (parameters bitwise unchanged, no state), halves the scale; the next finite step equals plain AdamW`, async () => {
        const { w, xs, opt, lossOf } = setup([1, bad, 3]);
        const scaler = new GradScaler();
        const before = await w.rawData();
        const loss = lossOf();
        const scaled = scaler.scale(loss);
        scaled.backward();
        g.dispose([loss, scaled]);
        expect(await scaler.step(opt)).toBe(false);
        await scaler.update();
        expect(bits(await w.rawData()).equals(bits(before))).toBe(true);
        expect(opt.stateBytes).toBe(0);
        expect(scaler.getScale()).toBe(32768);
        expect(scaler.stateDict()).toMatchObject({ _growth_tracker: 0 });
        opt.zeroGrad();

        // A finite step through the scaler equals plain AdamW on the true gradient, bit for bit
        // (a power-of-two scale and its reciprocal are exact).
        const finite = on(() => g.tensor([1, -0.75, 3]));
        const loss2 = on(() => g.sum(g.mul(w, finite)));
        const scaled2 = scaler.scale(loss2);
        scaled2.backward();
        expect(await scaler.step(opt)).toBe(true);
        await scaler.update();
        expect(scaler.stateDict()).toMatchObject({ scale: 32768, _growth_tracker: 1 });

        const ref = on(() => g.tensor(before as Float32Array, [3], { requiresGrad: true }).keep().setStorageRole('parameter', true));
        const refOpt = new AdamW([ref], { lr: 0.1 });
        ref.grad = on(() => g.tensor([1, -0.75, 3]).keep().setStorageRole('gradient'));
        refOpt.step();
        expect(bits(await w.rawData()).equals(bits(await ref.rawData()))).toBe(true);
        g.dispose([loss2, scaled2, finite, w, xs, ref]);
        opt.dispose();
        refOpt.dispose();
      });
    }

    it('gradient accumulation: scaled micro-batch grads summed, unscaled once at the step, equal the unscaled sum', async () => {
      // SEMANTICS "Gradient accumulation": loss / k per micro-batch, backward sums into .grad.
      const w = param([0.5, -1, 2]);
      const opt = new AdamW([w], { lr: 0.1 });
      const scaler = new GradScaler();
      const batches = [[1, 2, 3], [-0.5, 0.25, 8]];
      for (const xb of batches) {
        const xs = on(() => g.tensor(xb));
        const loss = on(() => g.div(g.sum(g.mul(w, xs)), batches.length));
        const scaled = scaler.scale(loss);
        scaled.backward();
        g.dispose([xs, loss, scaled]);
      }
      scaler.unscale(opt);
      // (x1 + x2) / 2, exact: the scale and 1/2 are powers of two.
      expect(Array.from(await w.grad!.data())).toEqual([0.25, 1.125, 5.5]);
      expect(await scaler.step(opt)).toBe(true);
      await scaler.update();
      expect(scaler.readbackCount).toBe(1);
      opt.dispose();
      w.dispose();
    });

    it('gradients unscaled by unscale() can be modified (clipped) before step(), which does not unscale again', async () => {
      const { w, xs, opt, lossOf } = setup([4, 4, 4]);
      const scaler = new GradScaler({ initScale: 8 });
      const loss = lossOf();
      const scaled = scaler.scale(loss);
      scaled.backward();
      scaler.unscale(opt);
      expect(Array.from(await w.grad!.data())).toEqual([4, 4, 4]);
      const clipped = on(() => g.tensor([1, 1, 1]).keep().setStorageRole('gradient'));
      w.grad!.dispose();
      w.grad = clipped;
      expect(await scaler.step(opt)).toBe(true);
      expect(Array.from(await w.grad!.data())).toEqual([1, 1, 1]);
      await scaler.update();
      g.dispose([loss, scaled, w, xs]);
      opt.dispose();
    });
  });

  describe(`GradScaler errors (${label})`, () => {
    const ready = () => {
      const p = param([1, 2]);
      setGrad(p, [1, 1]);
      const opt = new CountingOptimizer([p]);
      const scaler = new GradScaler();
      g.dispose(scaler.scale(on(() => g.tensor([1]))));
      return { p, opt, scaler };
    };

    it('unscale twice in one iteration', () => {
      const { p, opt, scaler } = ready();
      scaler.unscale(opt);
      expect(() => scaler.unscale(opt)).toThrow('unscale_() has already been called on this optimizer since the last update().');
      scaler.dispose();
      p.dispose();
    });

    it('unscale after step, step twice; both allowed again after update()', async () => {
      const { p, opt, scaler } = ready();
      await scaler.step(opt);
      expect(() => scaler.unscale(opt)).toThrow('unscale_() is being called after step().');
      await expect(scaler.step(opt)).rejects.toThrow('step() has already been called since the last update().');
      await scaler.update();
      setGrad(p, [2, 2]);
      scaler.unscale(opt);
      expect(await scaler.step(opt)).toBe(true);
      await scaler.update();
      expect(opt.steps).toBe(2);
      p.dispose();
    });

    it('unscale, step or update before any scale()', async () => {
      const p = param([1]);
      setGrad(p, [1]);
      const opt = new CountingOptimizer([p]);
      const scaler = new GradScaler();
      expect(() => scaler.unscale(opt)).toThrow(/Attempted unscale_ but _scale is None.*scaler\.scale\(loss or outputs\)/);
      await expect(scaler.step(opt)).rejects.toThrow(/Attempted step but _scale is None/);
      await expect(scaler.update()).rejects.toThrow(/Attempted update but _scale is None/);
      p.dispose();
    });

    it('step with no gradient at all, and update with no inf check', async () => {
      const p = param([1]);
      const opt = new CountingOptimizer([p]);
      const scaler = new GradScaler();
      g.dispose(scaler.scale(on(() => g.tensor([1]))));
      await expect(scaler.update()).rejects.toThrow(/No inf checks were recorded prior to update/);
      await expect(scaler.step(opt)).rejects.toThrow(/No inf checks were recorded for this optimizer/);
      p.dispose();
    });

    it('f16 gradients (PyTorch: "Attempting to unscale FP16 gradients."), leaving every gradient untouched', async () => {
      const a = param([1]);
      setGrad(a, [65536]);
      const b = on(() => g.tensor([1], { dtype: 'f16', requiresGrad: true }).keep());
      b.grad = on(() => g.tensor([2], { dtype: 'f16' }).keep());
      const scaler = new GradScaler();
      g.dispose(scaler.scale(on(() => g.tensor([1]))));
      expect(() => scaler.unscale(new CountingOptimizer([a, b]))).toThrow(/Attempting to unscale FP16 gradients/);
      expect(await a.grad!.item()).toBe(65536);
      g.dispose([a, b]);
    });

    it('bad options and state dicts', () => {
      expect(() => new GradScaler({ growthFactor: 1 })).toThrow(/growth factor must be > 1\.0.*growthFactor=1/);
      expect(() => new GradScaler({ backoffFactor: 1 })).toThrow(/backoff factor must be < 1\.0.*backoffFactor=1/);
      expect(() => new GradScaler({ growthInterval: 0 })).toThrow(/growthInterval must be a positive integer; got 0/);
      expect(() => new GradScaler({ initScale: -1 })).toThrow(/initScale must be a finite number > 0; got -1/);
      expect(() => new GradScaler().loadStateDict({})).toThrow(/source state dict is empty/);
      expect(() => new GradScaler().loadStateDict({ scale: 1, growth_factor: 2, backoff_factor: 0.5, growth_interval: 10, _growth_tracker: -1 })).toThrow(/_growth_tracker must be an integer >= 0, got -1/);
      // A disabled scaler accepts its own empty state dict, as PyTorch's does.
      expect(() => new GradScaler({ enabled: false, growthFactor: 0 }).loadStateDict({})).not.toThrow();
    });
  });

  describe(`GradScaler device traffic and memory (${label})`, () => {
    it('exactly one readback per step, counted by the scaler and by a spy on the backend\'s read', async () => {
      const w = param([1, 2, 3]);
      const v = param([4, 5]);
      const frozen = on(() => g.tensor([9]).keep().setStorageRole('parameter', false));
      const opt = new AdamW([w, v, frozen], { lr: 0.01 });
      const scaler = new GradScaler();
      const read = vi.spyOn(backend, 'read');
      try {
        const grads = [[1, 2, 3], [Infinity, 1, 1], [1, 1, 1], [2, 2, 2]];
        for (const [k, gv] of grads.entries()) {
          g.dispose(scaler.scale(on(() => g.tensor([1]))));
          setGrad(w, gv);
          setGrad(v, k === 2 ? null : [1, 1]);
          if (k === 3) scaler.unscale(opt);
          const before = read.mock.calls.length;
          await scaler.step(opt);
          await scaler.update();
          expect(read.mock.calls.length - before, `iteration ${k}`).toBe(1);
        }
        expect(scaler.readbackCount).toBe(4);
        // unscale then update without step: the one readback happens in update.
        g.dispose(scaler.scale(on(() => g.tensor([1]))));
        const before = read.mock.calls.length;
        scaler.unscale(opt);
        expect(read.mock.calls.length).toBe(before);
        await scaler.update();
        expect(read.mock.calls.length - before).toBe(1);
        expect(scaler.readbackCount).toBe(5);
      } finally {
        read.mockRestore();
        opt.dispose();
        g.dispose([w, v, frozen]);
      }
    });

    it('the found-inf flag is a 4-byte temporary from unscale to its readback; the steady state is unchanged', async () => {
      const report = () => on(() => g.memoryReport());
      const w = param([1, 2, 3]);
      const opt = new AdamW([w]);
      const scaler = new GradScaler();
      const warm = async () => {
        g.dispose(scaler.scale(on(() => g.tensor([1]))));
        setGrad(w, [1, 1, 1]);
        await scaler.step(opt);
        await scaler.update();
      };
      await warm(); // AdamW's state exists from here on
      g.dispose(scaler.scale(on(() => g.tensor([1]))));
      setGrad(w, [1, 1, 1]);
      const steady = report();
      scaler.unscale(opt);
      expect(report().live.temporaries - steady.live.temporaries).toBe(4);
      await scaler.step(opt);
      await scaler.update();
      expect(report().live).toEqual(steady.live);
      opt.dispose();
      w.dispose();
    });

    it('disabled: scale() returns the loss itself, step() just steps, nothing is read', async () => {
      const p = param([1]);
      setGrad(p, [Infinity]);
      const opt = new CountingOptimizer([p]);
      const scaler = new GradScaler({ enabled: false });
      const loss = on(() => g.tensor([3]));
      expect(scaler.scale(loss)).toBe(loss);
      scaler.unscale(opt);
      expect(await scaler.step(opt)).toBe(true);
      await scaler.update();
      expect(opt.steps).toBe(1);
      expect(scaler.getScale()).toBe(1);
      expect(scaler.stateDict()).toEqual({});
      expect(scaler.readbackCount).toBe(0);
      expect(await p.grad!.item()).toBe(Infinity);
      g.dispose([p, loss]);
    });
  });
}
