// Loads the PyTorch golden of a tiny LLaMA-2 with GQA and LoRA on wq/wv
// (scripts/make-goldens.py) through gradlab's own loaders, and runs the
// seed's training loss on it.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as g from '../../../src/index.js';

export const GOLDEN_DIR = fileURLToPath(new URL('../../goldens/llama2-gqa-lora/', import.meta.url));

export interface GoldenConfig {
  model_args: g.ModelArgs;
  lora: { r: number; alpha: number; dropout: number; targets: string[] };
}

export function goldenConfig(): GoldenConfig {
  return JSON.parse(readFileSync(`${GOLDEN_DIR}config.json`, 'utf8')) as GoldenConfig;
}

/** The golden model in `dtype` on the current backend, every parameter trainable, weights from weights.safetensors. */
export async function loadGoldenModel(dtype: 'f64' | 'f32'): Promise<g.Transformer> {
  const config = goldenConfig();
  const model = new g.Transformer(g.modelArgs(config.model_args), { dtype, init: 'zeros' });
  g.applyLora(model, { r: config.lora.r, alpha: config.lora.alpha, dropout: config.lora.dropout, targets: config.lora.targets });
  model.requiresGrad_(true);
  const result = await g.loadStateDictFromSafetensors(model, `${GOLDEN_DIR}weights.safetensors`);
  if (result.missingKeys.length + result.unexpectedKeys.length > 0) throw new Error('golden weights do not match the model');
  return model;
}

export async function loadGoldenInputs(): Promise<{ tokens: g.Tensor; labels: g.Tensor }> {
  const inputs = await g.loadSafetensors(`${GOLDEN_DIR}inputs.safetensors`);
  return { tokens: inputs.get('tokens')!, labels: inputs.get('labels')! };
}

/** The seed's loss: logits[:, :-1] against labels[:, 1:], ignore index -100, mean. */
export function shiftedLoss(logits: g.Tensor, labels: g.Tensor): g.Tensor {
  return g.crossEntropy(g.slice(logits, 1, 0, logits.shape[1] - 1), g.slice(labels, 1, 1), { ignoreIndex: -100 });
}

/** Forward, loss and backward; returns logits and loss (kept) with grads left on the parameters. */
export function runTrainingStep(model: g.Transformer, tokens: g.Tensor, labels: g.Tensor): { logits: g.Tensor; loss: g.Tensor } {
  const { logits, loss } = g.tidy(() => {
    const logits = model.forward(tokens);
    return { logits, loss: shiftedLoss(logits, labels) };
  });
  loss.backward();
  return { logits: logits.keep(), loss: loss.keep() };
}

// Allowed |gradlab - torch| relative to each tensor's largest entry.
// f64: both sides compute in f64 and differ only in summation order (seen: ~1e-15).
// f32: both round to f32 at every op, gradlab's CPU matmul accumulating in f64 and
// torch's in f32 (seen: up to 7.4e-7, ~6 ulps); 1e-5 leaves room for other summation
// orders while a real error (a wrong head mapping, a missing scale) is far above it.
export const GOLDEN_TOLERANCE = { f64: 1e-12, f32: 1e-5 } as const;

export interface Mismatch {
  readonly name: string;
  readonly maxAbsError: number;
  readonly worst: string;
}

/**
 * Elementwise |actual - expected| <= atol + rtol * |expected|; returns the
 * worst offender when any element fails (lengths must agree).
 */
export function compareValues(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): Mismatch | null {
  if (actual.length !== expected.length) return { name, maxAbsError: Infinity, worst: `length ${actual.length} vs expected ${expected.length}` };
  let maxAbsError = 0;
  let worst = '';
  let failed = false;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const bad = !(err <= atol + rtol * Math.abs(expected[i]));
    if (bad && !failed) worst = `element ${i}: ${actual[i]} vs ${expected[i]}`;
    failed ||= bad;
    maxAbsError = Math.max(maxAbsError, err);
  }
  return failed ? { name, maxAbsError, worst } : null;
}

/** Compares a tensor with its PyTorch reference within GOLDEN_TOLERANCE of the reference's largest entry. */
export async function compareToGolden(name: string, actual: g.Tensor, reference: g.Tensor, dtype: 'f64' | 'f32'): Promise<Mismatch | null> {
  if (actual.shape.length !== reference.shape.length || actual.shape.some((d, i) => d !== reference.shape[i])) {
    return { name, maxAbsError: Infinity, worst: `shape [${actual.shape}] vs expected [${reference.shape}]` };
  }
  const want = await reference.data();
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  return compareValues(name, await actual.data(), want, GOLDEN_TOLERANCE[dtype] * scale, 0);
}
