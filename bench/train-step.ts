// One optimizer step of the stories15M shape (dim 288, 6 layers, 6 heads,
// vocab 32000, seq 256, batch 1) per technique set, on gradlab backends and on
// PyTorch (bench/torch_train_step.py, same model code as the goldens) side by
// side in one run. ms per step: forward, loss, backward, AdamW, zero-grad, with
// the loss read back each step.
//
//   npx tsx bench/train-step.ts [--backends wasm,cpu,...] [--sets full,full+ckpt,lora,lora+ckpt]
//                               [--steps N] [--no-torch] [--torch-threads 1,2] [--tag NAME] [--out DIR]
//
// PyTorch runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its
// environment (so OpenBLAS uses its real kernels for this CPU) and prints the
// BLAS library it loaded. Writes DIR/train-step[-tag].json and .md.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as g from '../src/index.js';

const SETS = ['full', 'full+ckpt', 'lora', 'lora+ckpt'] as const;
type SetName = (typeof SETS)[number];
const SEQ = 256;

interface Args { backends: string[]; sets: SetName[]; steps: number; torch: boolean; torchThreads: number[]; tag: string | null; out: string }

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { backends: ['wasm'], sets: [...SETS], steps: 3, torch: true, torchThreads: [cpus().length], tag: null, out: fileURLToPath(new URL('./results', import.meta.url)) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    if (a === '--backends') args.backends = value().split(',');
    else if (a === '--sets') {
      args.sets = value().split(',') as SetName[];
      for (const s of args.sets) if (!SETS.includes(s)) throw new Error(`--sets: unknown set '${s}'; expected ${SETS.join(', ')}`);
    } else if (a === '--steps') args.steps = Number(value());
    else if (a === '--no-torch') args.torch = false;
    else if (a === '--torch-threads') args.torchThreads = value().split(',').map(Number);
    else if (a === '--tag') args.tag = value();
    else if (a === '--out') args.out = resolve(value());
    else throw new Error(`unknown argument '${a}'`);
  }
  return args;
}

interface SetResult { set: SetName; ms: number[]; medianMs: number; loss: number; trainable: number }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

async function runSet(backend: g.Backend, set: SetName, steps: number): Promise<SetResult> {
  g.useBackend(backend);
  const lora = set.startsWith('lora');
  const model = g.Transformer.fromPreset('stories15M', {}, { checkpointing: set.endsWith('+ckpt') ? 'two-segments' : 'none' });
  if (lora) {
    g.applyLora(model); // r 16, alpha 32, dropout 0.05 on wq, wv
    g.markOnlyLoraAsTrainable(model);
  }
  model.train();
  const params = model.trainableParameters();
  const opt = new g.AdamW(params, { lr: 1e-4 });
  const rand = lcg(1);
  const tokens = g.tensor(Int32Array.from({ length: SEQ }, () => Math.floor(rand() * 32000)), [1, SEQ]).keep();
  const labels = g.tensor(Int32Array.from({ length: SEQ }, () => Math.floor(rand() * 32000)), [1, SEQ]).keep();
  const ms: number[] = [];
  let loss = NaN;
  try {
    for (let step = 0; step <= steps; step++) { // step 0 warms up
      const t = performance.now();
      opt.zeroGrad();
      const l = g.tidy(() => {
        const logits = model.forward(tokens);
        return g.crossEntropy(g.slice(logits, 1, 0, SEQ - 1), g.slice(labels, 1, 1), { ignoreIndex: -100 });
      });
      l.backward();
      opt.step();
      loss = await l.item();
      l.dispose();
      if (step > 0) ms.push(performance.now() - t);
    }
  } finally {
    opt.dispose();
    g.dispose([tokens, labels]);
    model.dispose();
  }
  return { set, ms, medianMs: median(ms), loss, trainable: params.reduce((n, p) => n + p.numel, 0) };
}

interface TorchRun { threads: number; info: Record<string, unknown> | null; results: (SetResult & { error?: string })[]; error?: string; command: string }

function runTorch(sets: readonly SetName[], steps: number, threads: number): TorchRun {
  const script = fileURLToPath(new URL('./torch_train_step.py', import.meta.url));
  const command = `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE GRADLAB_TORCH_THREADS=${threads} /usr/bin/python3 bench/torch_train_step.py --steps ${steps} --sets ${sets.join(',')}`;
  const env: NodeJS.ProcessEnv = { ...process.env, GRADLAB_TORCH_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('/usr/bin/python3', [script, '--steps', String(steps), '--sets', sets.join(',')], { env, encoding: 'utf8', timeout: 1_800_000 });
  if (r.status !== 0) return { threads, info: null, results: [], error: (r.stderr || String(r.error)).trim().split('\n').slice(-3).join(' '), command };
  let info: Record<string, unknown> | null = null;
  const results: SetResult[] = [];
  for (const line of r.stdout.trim().split('\n')) {
    const o = JSON.parse(line);
    if (o.info) info = o.info;
    else results.push({ set: o.set, ms: o.ms, medianMs: o.median_ms, loss: o.loss, trainable: o.trainable });
  }
  return { threads, info, results, command };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const command = `npx tsx bench/train-step.ts ${process.argv.slice(2).join(' ')}`.trim();
  const loadBefore = loadavg();
  const gradlab: { backend: string; results: SetResult[] }[] = [];
  for (const spec of args.backends) {
    const backend = await g.createBackend(spec);
    const results: SetResult[] = [];
    for (const set of args.sets) {
      const r = await runSet(backend, set, args.steps);
      console.log(`${backend.name} ${set}: ${r.medianMs.toFixed(0)} ms/step (steps ${r.ms.map((m) => m.toFixed(0)).join(', ')}), loss ${r.loss.toFixed(4)}`);
      results.push(r);
    }
    gradlab.push({ backend: backend.name, results });
    backend.destroy();
  }
  const torch = args.torch ? args.torchThreads.map((t) => runTorch(args.sets, args.steps, t)) : [];
  for (const run of torch) {
    console.log(`PyTorch: ${JSON.stringify(run.info)}${run.error ? ` error: ${run.error}` : ''}`);
    for (const r of run.results) console.log(`torch (${run.threads} threads) ${r.set}: ${r.medianMs.toFixed(0)} ms/step (steps ${r.ms.map((m) => m.toFixed(0)).join(', ')})`);
  }
  const report = {
    command, date: new Date().toISOString(), cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version,
    loadAverage: { before: loadBefore, after: loadavg() }, steps: args.steps, shape: 'stories15M: dim 288, 6 layers, 6 heads, vocab 32000, seq 256, batch 1',
    gradlab, torch,
  };
  mkdirSync(args.out, { recursive: true });
  const base = join(args.out, `train-step${args.tag ? `-${args.tag}` : ''}`);
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(`${base}.md`, markdown(report));
  console.log(`wrote ${base}.json and .md`);
}

function markdown(r: { command: string; date: string; cpus: number; cpuModel?: string; loadAverage: { before: number[]; after: number[] }; shape: string; steps: number;
  gradlab: { backend: string; results: SetResult[] }[]; torch: TorchRun[] }): string {
  // Ratios are against PyTorch's fastest figure for the set (of the thread counts run).
  const torchBy = new Map<string, number>();
  for (const run of r.torch) for (const t of run.results) torchBy.set(t.set, Math.min(torchBy.get(t.set) ?? Infinity, t.medianMs));
  const lines = [
    `# Training step, ${r.shape}`,
    '',
    `Command: \`${r.command}\` (${r.date}; ${r.cpus} CPUs, ${r.cpuModel ?? 'unknown CPU'}; median of ${r.steps} steps after one warm-up step).`,
    `Load average before/after: ${r.loadAverage.before.map((x) => x.toFixed(1)).join(' ')} / ${r.loadAverage.after.map((x) => x.toFixed(1)).join(' ')} ` +
      '(a shared machine: other sessions were running, so absolute times are noisy; the ratios are what this run measured).',
    ...(r.torch.length === 0 ? ['PyTorch: not run.'] : r.torch.map((t) => `PyTorch: \`${t.command}\`; ${t.info ? `torch ${t.info.torch}, ${t.info.threads} threads, BLAS loaded: ${(t.info.blas_loaded as string[]).join(', ')}` : `failed: ${t.error}`}.`)),
    '',
    `| technique set | ${r.torch.map((t) => `PyTorch CPU, ${t.threads} thread${t.threads > 1 ? 's' : ''} (ms)`).join(' | ')} | ${r.gradlab.map((b) => `gradlab \`${b.backend}\` (ms) | ratio to PyTorch's best`).join(' | ')} |`,
    `|${r.torch.map(() => '---|').join('')}---|${r.gradlab.map(() => '---|---').join('|')}|`,
  ];
  for (const set of SETS) {
    const t = torchBy.get(set);
    const cells = r.gradlab.map((b) => {
      const res = b.results.find((x) => x.set === set);
      if (!res) return '- | -';
      return `${res.medianMs.toFixed(0)} | ${t ? `${(res.medianMs / t).toFixed(2)}x` : '-'}`;
    });
    if (cells.every((c) => c === '- | -') && t === undefined) continue;
    const torchCells = r.torch.map((run) => { const x = run.results.find((q) => q.set === set); return x ? x.medianMs.toFixed(0) : '-'; });
    lines.push(`| ${set} | ${[...torchCells, ...cells].join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

await main();
