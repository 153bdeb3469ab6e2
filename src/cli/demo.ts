// `gradlab demo`: trains a two-layer MLP on a synthetic regression task and
// prints the loss, the memory report and the work report, so a newcomer sees
// every layer working on the chosen backend.

import * as g from '../index.js';
import { backendSpec, backendSpecDetails } from './backend-specs.js';
import { defineCommand, nonNegativeInteger, positiveInteger, type OptionValues } from './flags.js';

const options = {
  backend: { type: 'string', short: 'b', description: 'backend to train on', value: backendSpec(), default: 'cpu', details: backendSpecDetails() },
  steps: { type: 'string', short: 's', description: 'optimizer steps', value: positiveInteger(), default: '200' },
  seed: { type: 'string', description: 'seed of the data and the initial weights', value: nonNegativeInteger(), default: '0' },
} as const;

export type DemoOptions = OptionValues<typeof options>;

export async function runDemo(opts: DemoOptions): Promise<number> {
  let backend: g.Backend;
  try {
    backend = await g.createBackend(opts.backend);
  } catch (err) {
    throw new Error(`--backend ${opts.backend}: ${(err as Error).message}`, { cause: err });
  }
  try {
    g.useBackend(backend);
    g.manualSeed(opts.seed);
    // y = sin(x0) + x1 * x2 on 256 random points.
    const x = g.rand([256, 3], { low: -2, high: 2 }).keep();
    const cols = await x.data();
    const targets = Float32Array.from({ length: 256 }, (_, i) => Math.sin(cols[3 * i]) + cols[3 * i + 1] * cols[3 * i + 2]);
    const y = g.tensor(targets, [256, 1]).keep();
    const param = (shape: number[], scale: number) =>
      g.randn(shape, { std: scale, requiresGrad: true }).keep().setStorageRole('parameter', true);
    const w1 = param([64, 3], 0.5);
    const w2 = param([1, 64], 0.1);
    const opt = new g.AdamW([w1, w2], { lr: 1e-2, weightDecay: 0 });
    let loss = NaN;
    for (let step = 1; step <= opts.steps; step++) {
      const l = g.tidy(() => g.pow(g.sub(g.linear(g.silu(g.linear(x, w1)), w2), y), 2).mean());
      l.backward();
      opt.step();
      opt.zeroGrad();
      if (step === 1 || step % 50 === 0 || step === opts.steps) {
        loss = await l.item();
        console.log(`step ${String(step).padStart(4)}  loss ${loss.toFixed(5)}`);
      }
      l.dispose();
    }
    console.log(`\nbackend: ${backend.name} (${backend.capabilities.features.join('; ')})\n`);
    console.log(g.memoryReport().toString());
    console.log(`\n${g.workReport().toString()}`);
    g.dispose([x, y, w1, w2]);
    opt.dispose();
    if (!Number.isFinite(loss)) {
      console.error(`gradlab demo: the loss is ${loss} after ${opts.steps} steps on ${backend.name}; the backend computes wrong values (run 'gradlab doctor')`);
      return 1;
    }
    return 0;
  } finally {
    backend.destroy();
  }
}

export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'train a small MLP and print the loss, the memory report and the work report',
  description: 'Trains a two-layer MLP (3 -> 64 -> 1, SiLU, AdamW) on y = sin(x0) + x1*x2 and prints the loss, the memory report and the work report, so every layer of gradlab runs once on the chosen backend.',
  options,
  examples: ['gradlab demo', 'gradlab demo --backend webgpu --steps 50', 'gradlab demo -b gpujs:webasm'],
  run: (values) => runDemo(values),
});
