// `gradlab demo`: trains a two-layer MLP on a synthetic regression task and
// prints the loss, the memory report and the work report, so a newcomer sees
// every layer working on the chosen backend.

import * as g from '../index.js';

export async function runDemo(flags: Map<string, string | true>): Promise<number> {
  const spec = typeof flags.get('backend') === 'string' ? (flags.get('backend') as string) : 'cpu';
  const steps = Number(flags.get('steps') ?? 200);
  const backend = await g.createBackend(spec);
  g.useBackend(backend);
  g.manualSeed(0);
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
  for (let step = 1; step <= steps; step++) {
    const l = g.tidy(() => g.pow(g.sub(g.linear(g.silu(g.linear(x, w1)), w2), y), 2).mean());
    l.backward();
    opt.step();
    opt.zeroGrad();
    if (step === 1 || step % 50 === 0 || step === steps) {
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
  backend.destroy();
  return Number.isFinite(loss) ? 0 : 1;
}
