import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as g from '../src/index.js';

const weights = join(tmpdir(), 'gradlab-tiny.safetensors');       // stands in for a real checkpoint
const source = g.Transformer.fromPreset('tiny', { layers: 1 });
await g.saveStateDictToSafetensors(source, weights);
source.dispose();

g.useBackend(await g.createBackend('cpu'));                       // or 'webgpu', 'gpujs:webasm', ...
const model = g.Transformer.fromPreset('tiny', { layers: 1 }, { checkpointing: 'two-segments', init: 'zeros' });
await g.loadStateDictFromSafetensors(model, weights);             // Meta's names: layers.0.attention.wq.weight, ...
g.applyLora(model);                                               // the seed: r 16, alpha 32, dropout 0.05 on wq, wv
g.markOnlyLoraAsTrainable(model);

const tokens = g.tensor(Int32Array.from([1, 15043, 3186, 29991, 2]), [1, 5]);
const labels = g.tensor(Int32Array.from([-100, -100, 3186, 29991, 2]), [1, 5]);
const loss = g.tidy(() => {
  const logits = model.forward(tokens);                           // (1, 5, 32000) f32
  return g.crossEntropy(g.slice(logits, 1, 0, -1), g.slice(labels, 1, 1), { ignoreIndex: -100 });
});
loss.backward();
console.log('loss', await loss.item());
for (const [name, p] of model.namedParameters()) if (p.grad) console.log(name, p.grad.shape.join('x'));
console.log(g.memoryReport().toString());
