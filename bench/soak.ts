// Soak: trains the tiny preset for many optimizer steps with the techniques
// off and all on, and records after every step the ledger's live bytes (which
// must return to exactly the same steady state: parameters + optimizer state)
// and, every few steps after a forced GC, the process's resident memory
// (which must stay flat: no leak outside the ledger either).
//
//   node --expose-gc --import tsx bench/soak.ts [--steps 1000] [--backends cpu,webgpu:vulkan] [--seq-len 48]
//
// Writes bench/results/<out>.{json,md} (default soak).

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import * as g from '../src/index.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000' },
    backends: { type: 'string', default: 'cpu,webgpu:vulkan' },
    'seq-len': { type: 'string', default: '48' },
    'rss-every': { type: 'string', default: '25' },
    out: { type: 'string', default: 'soak' },
    configs: { type: 'string', default: 'plain,all' },
    // Read each micro-batch's loss back, as finetune() does: on a GPU backend a loop that never
    // awaits runs ahead of the device and queues work without bound (nothing leaks, it just waits).
    'read-loss': { type: 'boolean', default: false },
  },
  strict: true,
});
const steps = Number(values.steps);
const seqLen = Number(values['seq-len']);
const rssEvery = Number(values['rss-every']);
const exposedGc = (globalThis as { gc?: () => void }).gc;
if (!exposedGc) throw new Error('run with node --expose-gc (see the header) so resident memory is measured after a forced GC');
const gc: () => void = exposedGc;

interface Config { key: string; name: string; options: g.FinetuneOptions }
const ALL_CONFIGS: Config[] = [
  { key: 'plain', name: 'plain', options: {} },
  { key: 'all', name: 'all four (GA x2 exact, two-segments, MP + f16 base, LoRA)', options: { accumulate: 2, accumulationMode: 'exact', checkpointing: 'two-segments', mixedPrecision: true, f16Base: true, lora: { r: 16, alpha: 32, dropout: 0.05, targets: ['wq', 'wv'] } } },
];
const CONFIGS = values.configs.split(',').map((k) => {
  const c = ALL_CONFIGS.find((x) => x.key === k);
  if (!c) throw new Error(`--configs: unknown '${k}'; expected some of ${ALL_CONFIGS.map((x) => x.key).join(', ')}`);
  return c;
});

async function soak(backendSpec: string, config: Config) {
  const backend = await g.createBackend(backendSpec);
  g.useBackend(backend);
  const c = g.resolveFinetuneConfig({ ...config.options, backend: backendSpec, seed: 0 });
  const { model, tokenizer } = await g.prepareModel(c);
  // The model's own bytes: parameters plus its constant buffers (the rotary tables).
  const modelBytes = g.memoryReport().liveTotal;
  const opt = new g.AdamW(model.trainableParameters(), { lr: 1e-3 });
  const scaler = new g.GradScaler({ enabled: c.mixedPrecision });
  const records = await g.loadDefaultAlpaca('train');
  const examples = g.tokenizeAlpacaDataset(records, tokenizer, { maxLength: seqLen }).filter((e) => g.targetTokenCount(e.labels, 1, e.labels.length) > 0);
  const order = new g.DataOrder({ datasetSize: examples.length, batchSize: 1, seed: 0 });
  const live: number[] = [];
  const rss: { step: number; rssMiB: number }[] = [];
  const started = performance.now();
  for (let step = 1; step <= steps; step++) {
    const window = Array.from({ length: c.accumulate }, () => g.collateBatch(order.nextBatch().map((i) => examples[i]), { padTo: seqLen }));
    const windowTokens = window.reduce((s, b) => s + g.targetTokenCount(b.labels, b.batchSize, b.seqLen), 0);
    for (const b of window) {
      const loss = g.tidy(() => {
        const f = () => g.microBatchLoss(model.forward(g.tensor(b.inputIds, b.shape)), g.tensor(b.labels, b.shape), { mode: c.accumulationMode, accumulate: c.accumulate, windowTokens });
        return c.mixedPrecision ? g.autocast('f16', f) : f();
      });
      const scaled = scaler.scale(loss);
      scaled.backward();
      if (values['read-loss']) await loss.item();
      g.dispose([loss, scaled]);
    }
    await scaler.step(opt);
    await scaler.update();
    opt.zeroGrad();
    live.push(g.memoryReport().liveTotal);
    // Progress on stderr, so a crash (a native one gives no stack) says how far it got.
    if (step % 50 === 0) process.stderr.write(`soak ${backendSpec} ${config.name}: step ${step}, live ${live[live.length - 1]} B, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`);
    if (step === 1 || step % rssEvery === 0) {
      gc();
      rss.push({ step, rssMiB: +(process.memoryUsage().rss / 2 ** 20).toFixed(1) });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const steady = live.slice(1);
  const expectedSteady = modelBytes + g.memoryReport().live.optimizerState;
  const result = {
    backend: backendSpec, config: config.name, steps, seconds: +seconds.toFixed(1),
    liveBytesAfterStep1: live[0], liveBytesAfterLaterSteps: { min: Math.min(...steady), max: Math.max(...steady) },
    modelPlusOptimizerState: expectedSteady,
    ledgerFlat: steady.every((v) => v === steady[0]) && steady[0] === expectedSteady,
    rssMiB: { first: rss[0].rssMiB, afterWarmup: rss[Math.min(4, rss.length - 1)].rssMiB, last: rss[rss.length - 1].rssMiB, max: Math.max(...rss.map((r) => r.rssMiB)) },
    rssSamples: rss,
  };
  opt.dispose();
  scaler.dispose();
  model.dispose();
  backend.destroy();
  return result;
}

const results = [];
for (const spec of values.backends.split(',')) {
  for (const config of CONFIGS) {
    const r = await soak(spec, config);
    console.log(`${spec} | ${config.name}: ${r.seconds} s; ledger after every step ${r.ledgerFlat ? 'identical' : 'NOT identical'} (${r.liveBytesAfterLaterSteps.min}..${r.liveBytesAfterLaterSteps.max} B, model + optimizer state ${r.modelPlusOptimizerState} B); RSS ${r.rssMiB.first} -> ${r.rssMiB.afterWarmup} (after warm-up) -> ${r.rssMiB.last} MiB`);
    results.push(r);
  }
}
const command = `node --expose-gc --import tsx bench/soak.ts --steps ${steps} --backends ${values.backends} --seq-len ${seqLen} --rss-every ${rssEvery} --configs ${values.configs}${values['read-loss'] ? ' --read-loss' : ''} --out ${values.out}`;
const machine = { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim() };
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/${values.out}.json`, `${JSON.stringify({ command, machine, results }, null, 2)}\n`);
writeFileSync(`bench/results/${values.out}.md`, [
  '# Soak: live bytes and resident memory over many optimizer steps',
  '',
  `Command: \`${command}\` (commit ${machine.commit}; ${machine.cores} cores, ${machine.cpu}, Node ${machine.node}). Tiny preset, batch 1, sequence ${seqLen}.`,
  '',
  '| backend | techniques | steps | s | ledger live bytes after steps 2.. | = model (parameters, rotary tables) + optimizer state | RSS MiB: step 1 / after warm-up / last / max |',
  '|---|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.backend} | ${r.config} | ${r.steps} | ${r.seconds} | ${r.liveBytesAfterLaterSteps.min === r.liveBytesAfterLaterSteps.max ? r.liveBytesAfterLaterSteps.min : `${r.liveBytesAfterLaterSteps.min}..${r.liveBytesAfterLaterSteps.max}`} | ${r.ledgerFlat ? 'yes' : 'NO'} | ${r.rssMiB.first} / ${r.rssMiB.afterWarmup} / ${r.rssMiB.last} / ${r.rssMiB.max} |`),
  '',
].join('\n'));
