// f32 matmul throughput of the wasm backend against PyTorch (CPU, OpenBLAS) on
// the same machine in one run: 1024^3 and the GEMMs of a stories15M training
// step (dim 288, hidden 768, vocab 32000, seq 256) in all three orientations
// (x W^T forward, g W input gradient, x^T g weight gradient).
//
//   npx tsx bench/wasm-matmul.ts [--threads 1,2] [--reps N] [--no-torch] [--tag NAME] [--out DIR]
//
// GFLOP/s from the best of N timed calls (at least 2 GFLOP of calls per shape) after a warm-up (a shared machine:
// the best time is the one least disturbed by other processes). PyTorch runs
// with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, on every core
// (GRADLAB_TORCH_THREADS overrides), and reports the BLAS it loaded.
// Writes DIR/wasm-matmul[-tag].json and .md.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWasmBackend } from '../src/backends/wasm/index.js';

interface Shape { name: string; m: number; n: number; k: number; aT: boolean; bT: boolean }

const SHAPES: Shape[] = [
  { name: '1024^3', m: 1024, n: 1024, k: 1024, aT: false, bT: false },
  { name: 'x W^T  (256x288)(768x288)^T', m: 256, n: 768, k: 288, aT: false, bT: true },
  { name: 'g W    (256x768)(768x288)', m: 256, n: 288, k: 768, aT: false, bT: false },
  { name: 'x^T g  (256x288)^T(256x768)', m: 288, n: 768, k: 256, aT: true, bT: false },
  { name: 'logits (256x288)(32000x288)^T', m: 256, n: 32000, k: 288, aT: false, bT: true },
  { name: 'g Wout (256x32000)(32000x288)', m: 256, n: 288, k: 32000, aT: false, bT: false },
  { name: 'gWout  (256x32000)^T(256x288)', m: 32000, n: 288, k: 256, aT: true, bT: false },
];

const TORCH_SCRIPT = `
import json, os, sys, time, torch
shapes, reps = json.loads(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(int(os.environ.get('GRADLAB_TORCH_THREADS', os.cpu_count())))
blas = sorted({os.path.realpath(l.split()[-1]) for l in open('/proc/self/maps') if len(l.split()) >= 6 and 'blas' in os.path.basename(l.split()[-1])})
print(json.dumps({'info': {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas_loaded': blas}}), flush=True)
for s in shapes:
    n = max(reps, -(-2e9 // (2 * s['m'] * s['n'] * s['k'])))
    a = torch.randn(s['k'], s['m']).t() if s['aT'] else torch.randn(s['m'], s['k'])
    b = torch.randn(s['n'], s['k']).t() if s['bT'] else torch.randn(s['k'], s['n'])
    a @ b
    best = 1e9
    for _ in range(int(n)):
        t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)
    print(json.dumps({'name': s['name'], 'ms': best * 1000}), flush=True)
`;

interface Args { threads: number[]; reps: number; torch: boolean; tag: string | null; out: string }

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { threads: [1, cpus().length], reps: 5, torch: true, tag: null, out: fileURLToPath(new URL('./results', import.meta.url)) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    if (a === '--threads') args.threads = value().split(',').map(Number);
    else if (a === '--reps') args.reps = Number(value());
    else if (a === '--no-torch') args.torch = false;
    else if (a === '--tag') args.tag = value();
    else if (a === '--out') args.out = resolve(value());
    else throw new Error(`unknown argument '${a}'`);
  }
  args.threads = [...new Set(args.threads)];
  return args;
}

/** At least `reps` calls and at least 2 GFLOP of timed work per shape: small shapes get more tries at a quiet moment. */
const repsFor = (s: Shape, reps: number) => Math.max(reps, Math.ceil(2e9 / (2 * s.m * s.n * s.k)));

const gflops = (s: Shape, ms: number) => (2 * s.m * s.n * s.k) / (ms * 1e6);

/**
 * Best wall ms per shape, and for one thread also the best CPU ms of the process (user +
 * system): the time the thread actually ran, which other processes on the machine do not inflate.
 */
async function timeWasm(threads: number, reps: number): Promise<{ wall: Map<string, number>; cpu: Map<string, number> }> {
  const backend = await createWasmBackend({ threads });
  const result = new Map<string, number>();
  const cpuResult = new Map<string, number>();
  try {
    for (const s of SHAPES) {
      const a = backend.alloc('f32', s.m * s.k);
      const b = backend.alloc('f32', s.k * s.n);
      const out = backend.alloc('f32', s.m * s.n);
      backend.write(a, Float32Array.from({ length: s.m * s.k }, (_, i) => Math.sin(i) * 0.5));
      backend.write(b, Float32Array.from({ length: s.k * s.n }, (_, i) => Math.cos(i) * 0.5));
      const run = () => backend.matmul({ batch: 1, m: s.m, n: s.n, k: s.k },
        { buffer: a, offset: 0, batchStride: 0, transposed: s.aT }, { buffer: b, offset: 0, batchStride: 0, transposed: s.bT }, out);
      run();
      let best = Infinity;
      let bestCpu = Infinity;
      for (let r = 0; r < repsFor(s, reps); r++) {
        const c = process.cpuUsage();
        const t = performance.now();
        run();
        await backend.read(out, 0, 1);
        best = Math.min(best, performance.now() - t);
        const used = process.cpuUsage(c);
        bestCpu = Math.min(bestCpu, (used.user + used.system) / 1000);
      }
      result.set(s.name, best);
      if (threads === 1) cpuResult.set(s.name, bestCpu);
      for (const buf of [a, b, out]) backend.free(buf);
    }
  } finally {
    backend.destroy();
  }
  return { wall: result, cpu: cpuResult };
}

function timeTorch(reps: number): { info: Record<string, unknown> | null; ms: Map<string, number>; error?: string } {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('/usr/bin/python3', ['-c', TORCH_SCRIPT, JSON.stringify(SHAPES), String(reps)], { env, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return { info: null, ms: new Map(), error: (r.stderr || String(r.error)).trim().split('\n').slice(-2).join(' ') };
  let info: Record<string, unknown> | null = null;
  const ms = new Map<string, number>();
  for (const line of r.stdout.trim().split('\n')) {
    const o = JSON.parse(line);
    if (o.info) info = o.info; else ms.set(o.name, o.ms);
  }
  return { info, ms };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const command = `npx tsx bench/wasm-matmul.ts ${process.argv.slice(2).join(' ')}`.trim();
  const loadBefore = loadavg();
  const wasm = new Map<number, Map<string, number>>();
  let cpuMs = new Map<string, number>();
  for (const t of args.threads) {
    const timed = await timeWasm(t, args.reps);
    wasm.set(t, timed.wall);
    if (t === 1) cpuMs = timed.cpu;
  }
  const torch = args.torch ? timeTorch(args.reps) : null;
  const rows = SHAPES.map((s) => ({
    shape: s.name, m: s.m, n: s.n, k: s.k, aTransposed: s.aT, bTransposed: s.bT,
    wasm: Object.fromEntries([...wasm].map(([t, ms]) => [`threads=${t}`, { ms: ms.get(s.name)!, gflops: gflops(s, ms.get(s.name)!) }])),
    wasmOneThreadPerCpuSecond: cpuMs.has(s.name) ? { cpuMs: cpuMs.get(s.name)!, gflops: gflops(s, cpuMs.get(s.name)!) } : null,
    torch: torch?.ms.has(s.name) ? { ms: torch.ms.get(s.name)!, gflops: gflops(s, torch.ms.get(s.name)!) } : null,
  }));
  const report = { command, date: new Date().toISOString(), cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version,
    loadAverage: { before: loadBefore, after: loadavg() }, reps: args.reps, torchInfo: torch?.info ?? null, torchError: torch?.error, rows };
  const lines = [
    '# f32 matmul: wasm backend vs PyTorch (same machine, one run)',
    '',
    `Command: \`${command}\` (${report.date}; ${report.cpus} CPUs, ${report.cpuModel}; best of at least ${args.reps} calls, and of at least 2 GFLOP of calls per shape).`,
    `Load average before/after: ${loadBefore.map((x) => x.toFixed(1)).join(' ')} / ${report.loadAverage.after.map((x) => x.toFixed(1)).join(' ')} (a shared machine; other sessions were running).`,
    torch ? (torch.info ? `PyTorch ${torch.info.torch}, ${torch.info.threads} threads, BLAS loaded: ${(torch.info.blas_loaded as string[]).join(', ')} (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset).` : `PyTorch failed: ${torch.error}`) : 'PyTorch: not run.',
    '',
    'The CPU-time column divides by the CPU time the single wasm thread actually ran (process.cpuUsage), so it is the per-core',
    'throughput with the waits for other processes taken out; the other columns are wall time.',
    '',
    `| shape (m x n x k) | ${args.threads.map((t) => `wasm ${t} thread${t > 1 ? 's' : ''} GFLOP/s`).join(' | ')} | wasm 1 thread GFLOP per CPU-second | PyTorch GFLOP/s | wasm ${Math.max(...args.threads)}T / PyTorch |`,
    `|---|${args.threads.map(() => '---').join('|')}|---|---|---|`,
    ...rows.map((r) => {
      const best = r.wasm[`threads=${Math.max(...args.threads)}`];
      return `| ${r.shape} (${r.m}x${r.n}x${r.k}) | ${args.threads.map((t) => r.wasm[`threads=${t}`].gflops.toFixed(1)).join(' | ')} | ${r.wasmOneThreadPerCpuSecond ? r.wasmOneThreadPerCpuSecond.gflops.toFixed(1) : '-'} | ${r.torch ? r.torch.gflops.toFixed(1) : '-'} | ${r.torch ? (best.gflops / r.torch.gflops).toFixed(2) : '-'} |`;
    }),
  ];
  console.log(lines.join('\n'));
  mkdirSync(args.out, { recursive: true });
  const base = join(args.out, `wasm-matmul${args.tag ? `-${args.tag}` : ''}`);
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(`${base}.md`, lines.join('\n') + '\n');
  console.log(`wrote ${base}.json and .md`);
}

await main();
