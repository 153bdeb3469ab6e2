// Kernel benchmarks: every backend that opens here, side by side in one run,
// with PyTorch on the same machine when python3-torch is installed.
//
//   npx tsx bench/kernels.ts [--backends cpu,webgpu:vulkan,...] [--quick] [--only matmul,softmax]
//                            [--max-gflop N] [--out DIR] [--gpu-peak h200] [--no-torch]
//                            [--check N] [--matmul-tile 128x128x8x8x8] [--tag NAME]
//
// --check N runs N generated conformance cases per kernel x dtype on each
// backend first (the result goes into the report); --matmul-tile forces one
// WebGPU matmul tiling (to compare tilings on a new GPU).
// Writes DIR/kernels-<adapter>[-tag].json and .md (DIR defaults to bench/results).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MATMUL_TILE_ENV, parseMatmulTile } from '../src/backends/webgpu/options.js';
import { DEFAULT_BACKENDS, openBackends, type OpenBackend } from './lib/bench-backends.js';
import { selfCheck, type SelfCheck } from './lib/self-check.js';
import { gpuPeak, type GpuPeak } from './lib/gpu-peaks.js';
import { benchCases, workOf, type BenchCase } from './lib/kernel-cases.js';
import { machineInfo, markdown, type BenchReport, type CaseOutcome } from './lib/report.js';
import { timeCase } from './lib/time-case.js';
import { torchFigures } from './lib/torch-figures.js';

interface Args {
  backends: string[];
  quick: boolean;
  only: string[] | null;
  maxGflop: number | null;
  out: string;
  gpuPeak: GpuPeak | null;
  torch: boolean;
  check: number;
  tag: string | null;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    backends: DEFAULT_BACKENDS, quick: false, only: null, maxGflop: null,
    out: fileURLToPath(new URL('./results', import.meta.url)),
    gpuPeak: process.env.GRADLAB_GPU_PEAK ? gpuPeak(process.env.GRADLAB_GPU_PEAK) : null, torch: true,
    check: 0, tag: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--backends': args.backends = value().split(',').filter(Boolean); break;
      case '--quick': args.quick = true; break;
      case '--only': args.only = value().split(','); break;
      case '--max-gflop': args.maxGflop = Number(value()) * 1e9; break;
      case '--out': args.out = resolve(value()); break;
      case '--gpu-peak': args.gpuPeak = gpuPeak(value()); break;
      case '--no-torch': args.torch = false; break;
      case '--check': args.check = Number(value()); break;
      case '--tag': args.tag = value().replace(/[^A-Za-z0-9.-]+/g, '-'); break;
      case '--matmul-tile': process.env[MATMUL_TILE_ENV] = value(); parseMatmulTile(process.env[MATMUL_TILE_ENV]!); break;
      case '--help':
        console.log('npx tsx bench/kernels.ts [--backends a,b] [--quick] [--only groups-or-kernels] [--max-gflop N] [--out DIR] [--gpu-peak h200] [--no-torch] [--check N] [--matmul-tile MxNxKxTMxTN] [--tag NAME]');
        process.exit(0);
        break;
      default: throw new Error(`unknown argument '${a}' (try --help)`);
    }
  }
  return args;
}

/** Why a case does not run on a backend, or null when it does. */
function skipReason(ob: OpenBackend, c: BenchCase, work: { flops: number; bytes: number }, bytes: number): string | null {
  if (!ob.backend.capabilities.dtypes.includes(c.dtype)) return `no ${c.dtype}`;
  if (bytes > ob.backend.capabilities.maxBufferBytes) return `a buffer exceeds ${Math.round(ob.backend.capabilities.maxBufferBytes / 2 ** 20)} MiB`;
  const size = c.bound === 'compute' ? work.flops : work.bytes / 4;
  if (size > ob.maxWorkPerOp) return `over the --max-gflop cap for ${ob.kind} (${(ob.maxWorkPerOp / 1e9).toFixed(1)})`;
  return null;
}

/** Bytes of the largest single buffer a case allocates (for the adapter's binding limit). */
function largestBuffer(c: BenchCase): number {
  const d = c.dims as Record<string, number>;
  const bpe = c.dtype === 'f16' ? 2 : 4;
  if (c.kernel === 'matmul') return bpe * Math.max(d.m * d.k, d.k * d.n, d.m * d.n);
  if ('rows' in d && 'cols' in d) return bpe * d.rows * d.cols;
  return bpe * (d.shape as unknown as number[]).reduce((a, b) => a * b, 1);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let cases = benchCases(args.quick);
  if (args.only) cases = cases.filter((c) => args.only!.some((o) => c.group === o || c.kernel === o));
  const { open, unavailable } = await openBackends(args.backends, args.maxGflop, args.quick);
  for (const u of unavailable) console.log(`[bench] ${u.spec}: not available (${u.reason})`);
  for (const o of open) console.log(`[bench] ${o.spec}: ${o.backend.name} (${o.kind}) ${o.description}`);
  const checks: Record<string, SelfCheck> = {};
  if (args.check > 0) {
    for (const o of open) {
      const result = await selfCheck(o, args.check);
      checks[o.spec] = result;
      console.log(`[bench] self-check on ${o.spec}: ${result.cases} cases, ${result.failures.length} failed`);
      for (const f of result.failures) console.log(`[bench]   FAILED ${f}`);
    }
  }

  const outcomes: CaseOutcome[] = [];
  for (const c of cases) {
    const work = workOf(c);
    const outcome: CaseOutcome = { id: c.id, group: c.group, kernel: c.kernel, dtype: c.dtype, shape: c.shape, bound: c.bound, flops: work.flops, bytes: work.bytes, results: {}, torch: {} };
    for (const ob of open) {
      const skip = skipReason(ob, c, work, largestBuffer(c));
      if (skip) {
        outcome.results[ob.spec] = { skipped: skip };
        console.log(`[bench] ${c.id} on ${ob.spec}: skipped (${skip})`);
        continue;
      }
      try {
        const t = await timeCase(ob, c, args.quick);
        const seconds = t.ms / 1000;
        const gflops = work.flops / seconds / 1e9;
        const gbps = work.bytes / seconds / 1e9;
        const peak = args.gpuPeak && ob.kind === 'gpu'
          ? (c.bound === 'compute' ? gflops / (args.gpuPeak.fp32Tflops * 1000) : gbps / (args.gpuPeak.memoryTBs * 1000))
          : undefined;
        outcome.results[ob.spec] = { ...t, gflops, gbps, fractionOfPeak: peak };
        console.log(`[bench] ${c.id} on ${ob.spec}: ${t.ms.toFixed(3)} ms/op, ${gflops.toFixed(2)} GFLOP/s, ${gbps.toFixed(2)} GB/s` +
          `${t.gpuMs !== undefined ? `, GPU ${t.gpuMs.toFixed(3)} ms` : ''}${peak !== undefined ? `, ${(100 * peak).toFixed(2)}% of peak` : ''} (±${t.rme.toFixed(1)}%, ${t.samples} samples x ${t.repeat})`);
      } catch (cause) {
        const reason = (cause as Error).message.split('\n')[0];
        outcome.results[ob.spec] = { skipped: `failed: ${reason}` };
        console.log(`[bench] ${c.id} on ${ob.spec}: FAILED ${reason}`);
      }
    }
    outcomes.push(outcome);
  }

  const torch = args.torch ? torchFigures(cases, () => null, args.quick ? 0.05 : 0.2) : { available: false, reason: 'disabled with --no-torch', results: {} };
  if (!torch.available) console.log(`[bench] PyTorch: not run (${torch.reason})`);
  for (const outcome of outcomes) {
    for (const [device, byCase] of Object.entries(torch.results)) {
      const r = byCase[outcome.id];
      if (!r) continue;
      if (r.ms === undefined) outcome.torch[device] = { skipped: r.error ?? 'failed' };
      else outcome.torch[device] = { ms: r.ms, gflops: outcome.flops / (r.ms / 1000) / 1e9, gbps: outcome.bytes / (r.ms / 1000) / 1e9 };
      console.log(`[bench] ${outcome.id} on PyTorch ${device}: ${r.ms !== undefined ? `${r.ms.toFixed(3)} ms/op` : r.error}`);
    }
  }

  const report: BenchReport = {
    date: new Date().toISOString(),
    command: ['npx tsx bench/kernels.ts', ...process.argv.slice(2)].join(' '),
    machine: machineInfo(),
    options: { quick: args.quick, only: args.only, maxGflop: args.maxGflop, backends: args.backends, matmulTile: process.env[MATMUL_TILE_ENV] ?? null },
    selfCheck: checks,
    backends: open.map((o) => ({ spec: o.spec, name: o.backend.name, kind: o.kind, description: o.description, features: o.features })),
    unavailable,
    torch: { available: torch.available, reason: torch.reason, info: torch.info },
    gpuPeak: args.gpuPeak ?? undefined,
    cases: outcomes,
  };
  const primary = open.find((o) => o.spec.startsWith('webgpu'));
  const tag = (primary ? (primary.kind === 'gpu' ? primary.description.replace(/^\w+: /, '') : 'lavapipe') : 'cpu')
    .toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) + (args.quick ? '-quick' : '') + (args.tag ? `-${args.tag}` : '');
  mkdirSync(args.out, { recursive: true });
  const base = join(args.out, `kernels-${tag}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(report));
  console.log(`\n${markdown(report)}\n[bench] wrote ${base}.json and ${base}.md`);
  for (const o of open) o.backend.destroy();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
