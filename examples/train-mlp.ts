import * as g from '../src/index.js';

g.manualSeed(0);
const x = g.randn([64, 4]).keep();                       // inputs (64, 4)
const y = g.tidy(() => g.sum(g.mul(x, x), 1, true)).keep(); // target: |x|^2, (64, 1)
const param = (shape: number[]) =>
  g.randn(shape, { std: 0.3, requiresGrad: true }).keep().setStorageRole('parameter', true);
const [w1, w2] = [param([32, 4]), param([1, 32])];
const opt = new g.AdamW([w1, w2], { lr: 1e-2 });

for (let step = 0; step < 300; step++) {
  const loss = g.tidy(() => g.linear(g.silu(g.linear(x, w1)), w2).sub(y).pow(2).mean());
  loss.backward();                                        // grads accumulate in w.grad
  opt.step();
  opt.zeroGrad();
  if (step % 100 === 0 || step === 299) console.log(`step ${step}: loss ${(await loss.item()).toFixed(4)}`);
  loss.dispose();                                         // frees the graph
}
console.log(g.memoryReport().toString());                 // bytes per category, live and at peak
