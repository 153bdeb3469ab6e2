// The mixed-precision golden (scripts/make-autocast-goldens.py): a tiny
// LLaMA-2 run under CUDA autocast f16's op policy, emulated in PyTorch with
// explicit f16 roundings. Loads the model into gradlab for one of the three
// cases, runs forward and backward under gradlab's autocast, measures the
// distance to the goldens in f16 unit roundoffs, and holds the suite both
// backends' test files run (each with its own bounds).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../../src/index.js';
import { autocast } from '../../../src/autograd/autocast.js';
import { storeFrozenWeightsInF16 } from '../../../src/nn/frozen-half-precision.js';

export const AUTOCAST_GOLDEN_DIR = fileURLToPath(new URL('../../goldens/llama2-autocast-f16/', import.meta.url));

export const CASES = ['full', 'lora', 'lora-f16-base'] as const;
export type GoldenCase = (typeof CASES)[number];

export interface AutocastGoldenConfig {
  model_args: g.ModelArgs;
  lora: { r: number; alpha: number; dropout: number; targets: string[] };
  loss_scale: number;
}

export function autocastGoldenConfig(): AutocastGoldenConfig {
  return JSON.parse(readFileSync(`${AUTOCAST_GOLDEN_DIR}config.json`, 'utf8')) as AutocastGoldenConfig;
}

/**
 * The f32 model of a case on the current backend. full: every parameter
 * trainable, no LoRA (the file's LoRA factors are left out). lora: LoRA on
 * wq/wv, only the factors trainable. lora-f16-base: as lora, then every frozen
 * matrix stored in f16.
 */
export async function loadCaseModel(which: GoldenCase): Promise<g.Transformer> {
  const config = autocastGoldenConfig();
  const model = new g.Transformer(g.modelArgs(config.model_args), { dtype: 'f32', init: 'zeros' });
  const file = `${AUTOCAST_GOLDEN_DIR}weights.safetensors`;
  if (which === 'full') {
    model.requiresGrad_(true);
    const { missingKeys, unexpectedKeys } = await g.loadStateDictFromSafetensors(model, file, { strict: false });
    const stray = unexpectedKeys.filter((k) => !k.includes('.lora_'));
    if (missingKeys.length + stray.length > 0) throw new Error(`golden weights do not fit the model: missing ${missingKeys}, unexpected ${stray}`);
    return model;
  }
  const { r, alpha, dropout, targets } = config.lora;
  g.applyLora(model, { r, alpha, dropout, targets });
  await g.loadStateDictFromSafetensors(model, file);
  g.markOnlyLoraAsTrainable(model);
  if (which === 'lora-f16-base') storeFrozenWeightsInF16(model);
  return model;
}

export async function loadAutocastGoldenInputs(): Promise<{ tokens: g.Tensor; labels: g.Tensor }> {
  const inputs = await g.loadSafetensors(`${AUTOCAST_GOLDEN_DIR}inputs.safetensors`);
  return { tokens: inputs.get('tokens')!, labels: inputs.get('labels')! };
}

/**
 * The golden's training step: forward and loss under autocast('f16'), then
 * backward (outside the region, as torch recommends) from loss * lossScale,
 * GradScaler's scale(loss). Returns logits and the unscaled loss, kept.
 */
export function runAutocastStep(model: g.Transformer, tokens: g.Tensor, labels: g.Tensor, lossScale: number): { logits: g.Tensor; loss: g.Tensor } {
  const { logits, loss } = autocast('f16', () => g.tidy(() => {
    const logits = model.forward(tokens);
    const loss = g.crossEntropy(g.slice(logits, 1, 0, logits.shape[1] - 1), g.slice(labels, 1, 1), { ignoreIndex: -100 });
    return { logits, loss };
  }));
  g.tidy(() => g.mul(loss, lossScale).backward());
  return { logits: logits.keep(), loss: loss.keep() };
}

/** f16's unit roundoff, half an ulp at 1: the relative size of one f16 rounding. */
export const U16 = 2 ** -11;

export interface Distance {
  /** max |got - want| / max |want|, in U16. */
  readonly maxRel: number;
  /** ||got - want||_2 / ||want||_2, in U16. */
  readonly normRel: number;
  /** Fraction of elements that are not bit-identical to the golden. */
  readonly differing: number;
}

export function distance(got: ArrayLike<number>, want: ArrayLike<number>): Distance {
  if (got.length !== want.length) throw new Error(`distance: ${got.length} values against ${want.length} expected`);
  let maxD = 0;
  let maxW = 0;
  let d2 = 0;
  let w2 = 0;
  let differing = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= Infinity)) return { maxRel: NaN, normRel: NaN, differing: 1 };
    maxD = Math.max(maxD, d);
    maxW = Math.max(maxW, Math.abs(want[i]));
    d2 += d * d;
    w2 += want[i] * want[i];
    if (d !== 0) differing++;
  }
  return { maxRel: maxD / maxW / U16, normRel: Math.sqrt(d2 / w2) / U16, differing: differing / want.length };
}

export async function tensorDistance(name: string, got: g.Tensor, want: g.Tensor): Promise<Distance> {
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
    throw new Error(`${name}: shape [${got.shape}] vs golden [${want.shape}]`);
  }
  return distance(await got.data(), await want.data());
}

/** True when every value is exactly an f16 value (what a cast f16 -> f32 produces). */
export function allF16Values(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (g.roundToF16(values[i]) !== values[i]) return false;
  return true;
}

/** Bounds on `Distance`s, in U16 (see the test files for their derivation). */
export interface Bounds {
  /** logits: max and normwise relative error. */
  logitsMax: number;
  logitsNorm: number;
  /** each gradient's max relative error. */
  gradMax: number;
  /** mean over a case's gradients of their normwise relative error. */
  gradMeanNorm: number;
}

export interface SuiteTolerances {
  /** against expected-<case>: PyTorch's policy, silu and its product rounded separately. */
  pytorch: Bounds;
  /** against expected-<case>.fused-silu-mul: the same policy with gradlab's fused silu * gate. */
  fusedSiluMul: Bounds;
  /** |loss - golden| / |golden|, in U16. */
  loss: number;
}

/** Names of the Linear weights (and LoRA factors): parameters whose gradient comes through an f16 -> f32 cast. */
const isMatmulWeight = (name: string) => /\.(w[qkvo123]\.weight|lora_[AB])$/.test(name) || name === 'output.weight';

/**
 * The golden comparison for every case on one backend. `backend()` is called
 * in beforeAll, so a suite that is skipped never touches the device.
 */
export function autocastGoldenSuite(label: string, backend: () => g.Backend, tol: SuiteTolerances): void {
  for (const which of CASES) {
    describe(`${label}: tiny LLaMA-2 under autocast f16, case ${which}`, () => {
      let model: g.Transformer;
      let logits: g.Tensor;
      let loss: g.Tensor;
      let expected: Map<string, g.Tensor>;
      let expectedFused: Map<string, g.Tensor>;

      beforeAll(async () => {
        g.useBackend(backend());
        model = await loadCaseModel(which);
        expected = await g.loadSafetensors(`${AUTOCAST_GOLDEN_DIR}expected-${which}.safetensors`);
        expectedFused = await g.loadSafetensors(`${AUTOCAST_GOLDEN_DIR}expected-${which}.fused-silu-mul.safetensors`);
        const { tokens, labels } = await loadAutocastGoldenInputs();
        ({ logits, loss } = runAutocastStep(model, tokens, labels, autocastGoldenConfig().loss_scale));
        g.dispose([tokens, labels]);
      });

      afterAll(() => {
        model?.dispose();
        g.dispose([logits, loss, [...(expected?.values() ?? [])], [...(expectedFused?.values() ?? [])]]);
      });

      it('logits are f32 holding f16 values (the output linear ran in f16, then .float())', async () => {
        expect(logits.context.backend).toBe(g.currentBackend());
        expect(logits.dtype).toBe('f32');
        expect(allF16Values(await logits.data())).toBe(true);
      });

      it('logits and loss match both goldens', async () => {
        for (const [golden, bounds] of [[expected, tol.pytorch], [expectedFused, tol.fusedSiluMul]] as const) {
          const d = await tensorDistance('logits', logits, golden.get('logits')!);
          expect(d.maxRel, `logits max ${JSON.stringify(d)}`).toBeLessThanOrEqual(bounds.logitsMax);
          expect(d.normRel, `logits norm ${JSON.stringify(d)}`).toBeLessThanOrEqual(bounds.logitsNorm);
          expect((await tensorDistance('loss', loss, golden.get('loss')!)).maxRel).toBeLessThanOrEqual(tol.loss);
        }
      });

      it('exactly the trainable parameters get gradients: f32 master grads, f16 values for every matmul weight', async () => {
        const gradNames = [...expected.keys()].filter((k) => k.startsWith('grad.')).map((k) => k.slice(5)).sort();
        const trainable = model.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n).sort();
        expect(trainable).toEqual(gradNames);
        for (const [name, p] of model.namedParameters()) {
          if (!p.requiresGrad) {
            expect(p.grad, `${name} is frozen but got a gradient`).toBeNull();
            continue;
          }
          expect(p.dtype, name).toBe('f32');
          expect(p.grad?.dtype, `${name}'s gradient`).toBe('f32');
          // The gradient of an f16 tensor is f16; the cast f32 -> f16 passes it back up exactly.
          if (isMatmulWeight(name)) expect(allF16Values(await p.grad!.data()), `${name}'s gradient holds f16 values`).toBe(true);
        }
        if (which === 'lora-f16-base') {
          for (const [name, p] of model.namedParameters()) {
            if (!p.requiresGrad) expect(p.dtype, name).toBe(p.rank === 2 ? 'f16' : 'f32');
          }
        }
      });

      for (const goldenName of ['pytorch', 'fusedSiluMul'] as const) {
        it(`every gradient matches the ${goldenName === 'pytorch' ? "PyTorch policy's golden" : 'fused-silu-mul golden'}`, async () => {
          const golden = goldenName === 'pytorch' ? expected : expectedFused;
          const bounds = tol[goldenName];
          const report: string[] = [];
          let normSum = 0;
          let count = 0;
          let worstMax = 0;
          for (const [name, p] of model.namedParameters()) {
            if (!p.requiresGrad) continue;
            const d = await tensorDistance(name, p.grad!, golden.get(`grad.${name}`)!);
            report.push(`${name}: max ${d.maxRel.toFixed(2)}u norm ${d.normRel.toFixed(2)}u`);
            worstMax = Math.max(worstMax, d.maxRel);
            normSum += d.normRel;
            count++;
          }
          const meanNorm = normSum / count;
          const summary = `worst max ${worstMax.toFixed(2)}u, mean norm ${meanNorm.toFixed(2)}u\n${report.join('\n')}`;
          expect(worstMax, summary).toBeLessThanOrEqual(bounds.gradMax);
          expect(meanNorm, summary).toBeLessThanOrEqual(bounds.gradMeanNorm);
        });
      }
    });
  }
}
