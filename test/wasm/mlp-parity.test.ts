// A small network (embedding, linear, silu, RMSNorm, linear, cross-entropy
// with ignored labels, AdamW) trains the same on the CPU reference and on the
// wasm backend (1 thread, and 2 threads splitting every kernel): each step's
// loss and the final weights agree within f32 tolerance, the memory ledger
// reports the same bytes per category, live and at the peak, and the two
// thread counts agree bit for bit.

import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { Backend, MemoryReport, Tensor } from '../../src/index.js';
import { normals } from '../webgpu/helpers/cpu-oracle.js';
import { openWasm } from './wasm-fixture.js';

const STEPS = 30;
const N = 40; // tokens per batch
const VOCAB = 11;
const E = 8;
const H = 20;
const CLASSES = 7;

const TOKENS = Int32Array.from({ length: N }, (_, i) => (i * 7 + 3) % VOCAB);
// Labels depend on the token, so the task is learnable; every fifth is ignored.
const LABELS = Int32Array.from(TOKENS, (t, i) => (i % 5 === 4 ? -100 : (t * 3) % CLASSES));
const INIT = {
  embed: Float32Array.from(normals(VOCAB * E, 11, 'f32', 0.5)),
  w1: Float32Array.from(normals(H * E, 12, 'f32', 0.3)),
  gamma: new Float32Array(H).fill(1),
  w2: Float32Array.from(normals(CLASSES * H, 13, 'f32', 0.3)),
};
type ParamName = keyof typeof INIT;
const SHAPES: Record<ParamName, number[]> = { embed: [VOCAB, E], w1: [H, E], gamma: [H], w2: [CLASSES, H] };

interface Run { losses: number[]; params: Record<ParamName, number[]>; ledger: MemoryReport }

async function train(backend: Backend): Promise<Run> {
  g.withBackend(backend, () => g.resetPeakMemory());
  const { tokens, labels, params } = g.withBackend(backend, () => ({
    tokens: g.tensor(TOKENS, [N]).keep(),
    labels: g.tensor(LABELS, [N]).keep(),
    params: Object.fromEntries((Object.keys(INIT) as ParamName[]).map((name) => [
      name, g.tensor(INIT[name], SHAPES[name], { requiresGrad: true }).keep().setStorageRole('parameter', true),
    ])) as Record<ParamName, Tensor>,
  }));
  const opt = new g.AdamW(Object.values(params), { lr: 2e-2 });
  const losses: number[] = [];
  try {
    for (let step = 0; step < STEPS; step++) {
      const loss = g.withBackend(backend, () => g.tidy(() => {
        const x = g.embedding(params.embed, tokens);
        const h = g.rmsNorm(g.silu(g.linear(x, params.w1)), params.gamma);
        return g.crossEntropy(g.linear(h, params.w2), labels);
      }));
      loss.backward();
      opt.step();
      opt.zeroGrad();
      losses.push(await loss.item());
      loss.dispose();
    }
    const finals = {} as Record<ParamName, number[]>;
    for (const name of Object.keys(params) as ParamName[]) finals[name] = Array.from(await params[name].data());
    const ledger = g.withBackend(backend, () => g.memoryReport());
    return { losses, params: finals, ledger };
  } finally {
    opt.dispose();
    g.dispose([tokens, labels, ...Object.values(params)]);
  }
}

const wasms = [await openWasm(1), await openWasm(2, true)];

describe('a small network trains the same on the CPU and on wasm', () => {
  let reference: Run;
  const runs: Run[] = [];

  it('trains on the CPU reference: the loss falls by more than half', async () => {
    reference = await train(new g.CpuBackend());
    expect(reference.losses[STEPS - 1]).toBeLessThan(reference.losses[0] / 2);
  });

  for (const backend of wasms) {
    it(`trains the same on ${backend.name}, with the same ledger bytes`, async () => {
      const run = await train(backend);
      runs.push(run);
      // f32 kernels differ from the CPU's f64-then-round by a few ulp per op (matmul accumulates in f32);
      // AdamW's division by sqrt(v) carries that through the steps. 1e-4 on losses and 1e-3 on weights leave ample room.
      run.losses.forEach((loss, step) => {
        expect(Math.abs(loss - reference.losses[step]) / Math.abs(reference.losses[step]), `step ${step}: ${loss} vs CPU ${reference.losses[step]}`).toBeLessThanOrEqual(1e-4);
      });
      let worst = 0;
      for (const name of Object.keys(INIT) as ParamName[]) {
        run.params[name].forEach((v, i) => { worst = Math.max(worst, Math.abs(v - reference.params[name][i]) / (1e-3 + Math.abs(reference.params[name][i]))); });
      }
      expect(worst).toBeLessThan(1e-3);
      // The ledger counts logical bytes, so the same program must report the same figures.
      expect(run.ledger.live).toEqual(reference.ledger.live);
      expect(run.ledger.peakTotal).toBe(reference.ledger.peakTotal);
      expect(run.ledger.peak).toEqual(reference.ledger.peak);
      expect(run.ledger.maxByCategory).toEqual(reference.ledger.maxByCategory);
      expect(run.ledger.peakTotal).toBeGreaterThan(0);
      // The pool holds at least the live bytes (rounded up to size classes).
      expect(run.ledger.backendReservedBytes).toBeGreaterThanOrEqual(run.ledger.peakTotal);
      console.log(`[mlp parity] ${backend.name}: final loss ${run.losses[STEPS - 1].toFixed(6)} (CPU ${reference.losses[STEPS - 1].toFixed(6)}), ` +
        `worst weight difference ${worst.toExponential(2)}; ledger peak ${run.ledger.peakTotal} B on both; pool reserved ${run.ledger.backendReservedBytes} B`);
    });
  }

  it('1 and 2 threads train bit for bit the same', () => {
    expect(runs.length).toBe(2);
    expect(runs[1].losses).toEqual(runs[0].losses);
    expect(runs[1].params).toEqual(runs[0].params);
  });
});
