// `gradlab doctor`: which backends work on this machine, what each one is
// (adapter, features, limits, f16 mode), and a self-check of every kernel x
// dtype against the CPU reference through the same kernel-spec table the
// conformance tests use.

import type { Backend } from '../backends/backend.js';
import { runKernelCase, sampleCases, specDTypesFor } from '../backends/conformance.js';
import { KERNEL_SPECS } from '../backends/kernel-specs.js';
import { createBackend } from '../backends/registry.js';
import { contextFor } from '../tensor/runtime.js';
import { defineCommand } from './flags.js';

const CANDIDATES = ['cpu', 'wasm', 'webgpu:vulkan', 'webgpu:vulkan:packed', 'webgpu:gles', 'gpujs', 'gpujs:webgpu', 'gpujs:webasm', 'gpujs:cpu'];

export interface SelfCheck {
  readonly cases: number;
  readonly passed: number;
  readonly failures: string[];
}

export interface BackendDoctorEntry {
  readonly spec: string;
  readonly available: boolean;
  readonly error?: string;
  readonly name?: string;
  readonly dtypes?: readonly string[];
  readonly f16?: string;
  readonly features?: readonly string[];
  readonly maxBufferBytes?: number;
  readonly selfCheck?: SelfCheck;
}

async function selfCheck(backend: Backend, casesPerKernel: number): Promise<SelfCheck> {
  const kernels = contextFor(backend).kernels;
  let cases = 0;
  let passed = 0;
  const failures: string[] = [];
  for (const spec of KERNEL_SPECS) {
    for (const dtype of specDTypesFor(spec, backend.capabilities.dtypes)) {
      // Cases that touch a dtype the backend lacks (a cast to f64 on a GPU) are not drawn.
      const supported = sampleCases(spec, dtype, casesPerKernel * 4, 20261129)
        .filter((c) => spec.buffers(c.dims, dtype).every((b) => backend.capabilities.dtypes.includes(b.dtype)))
        .slice(0, casesPerKernel);
      for (const kcase of supported) {
        cases++;
        try {
          const outcome = await runKernelCase(kernels, spec, dtype, kcase);
          if (outcome.ok) passed++;
          else failures.push(outcome.message);
        } catch (err) {
          failures.push(`${spec.name} [${dtype}]: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
  }
  return { cases, passed, failures };
}

export async function doctorReport(casesPerKernel: number): Promise<BackendDoctorEntry[]> {
  const entries: BackendDoctorEntry[] = [];
  for (const spec of CANDIDATES) {
    let backend: Backend;
    try {
      backend = await createBackend(spec);
    } catch (err) {
      entries.push({ spec, available: false, error: err instanceof Error ? err.message : String(err) });
      continue;
    }
    const caps = backend.capabilities;
    entries.push({
      spec, available: true, name: backend.name, dtypes: caps.dtypes, f16: caps.f16, features: caps.features,
      maxBufferBytes: caps.maxBufferBytes, selfCheck: await selfCheck(backend, casesPerKernel),
    });
    backend.destroy();
  }
  return entries;
}

/** Adapter and mode discovery of the accelerator backends; an error in place of a probe that could not load. */
async function probes(): Promise<{ webgpu: unknown; gpujs: unknown; wasm: unknown }> {
  const attempt = async (load: () => Promise<unknown>) => {
    try { return await load(); } catch (err) { return { error: err instanceof Error ? err.message : String(err) }; }
  };
  return {
    webgpu: await attempt(async () => (await import('../backends/webgpu/index.js')).probeWebGpu()),
    gpujs: await attempt(async () => (await import('../backends/gpujs/index.js')).probeGpuJs()),
    wasm: await attempt(async () => (await import('../backends/wasm/index.js')).probeWasm()),
  };
}

function printWebGpuProbe(probe: unknown): void {
  const p = probe as { error?: string; selected?: string | null; attempts?: { kind: string; ok: boolean; reason?: string; adapter?: Record<string, unknown> }[]; installHint?: string };
  console.log('WebGPU adapters (Dawn):');
  if (p.error) { console.log(`  could not probe: ${p.error}\n`); return; }
  for (const a of p.attempts ?? []) {
    if (!a.ok) { console.log(`  ${a.kind}: none (${a.reason})`); continue; }
    const ad = a.adapter as { featureLevel: string; vendor: string; architecture: string; description: string; features: string[]; limits: Record<string, number>; f16: string; timestampQuery: boolean };
    console.log(`  ${a.kind}${a.kind === p.selected ? ' (auto picks this)' : ''}: ${ad.description} [${ad.featureLevel}]`);
    console.log(`    vendor ${ad.vendor || '-'}, architecture ${ad.architecture || '-'}; f16 ${ad.f16}; timestamp-query ${ad.timestampQuery ? 'yes' : 'no'}`);
    console.log(`    features: ${ad.features.join(', ')}`);
    console.log(`    limits: ${Object.entries(ad.limits).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  if (!p.selected && p.installHint) console.log(`  ${p.installHint}`);
  console.log('');
}

function printGpuJsProbe(probe: unknown): void {
  const p = probe as { error?: string; modes?: { mode: string; available: boolean; reason?: string }[]; auto?: { mode: string; reason: string } | null };
  console.log('gpu.js modes:');
  if (p.error) { console.log(`  could not probe: ${p.error}\n`); return; }
  for (const m of p.modes ?? []) console.log(`  ${m.mode}: ${m.available ? 'works' : `unavailable (${m.reason})`}`);
  console.log(`  auto: ${p.auto ? `${p.auto.mode} (${p.auto.reason})` : 'no mode works'}\n`);
}

export async function runDoctor(opts: { readonly json: boolean; readonly quick: boolean }): Promise<number> {
  const discovered = await probes();
  const entries = await doctorReport(opts.quick ? 1 : 3);
  if (opts.json) {
    console.log(JSON.stringify({ node: process.version, platform: `${process.platform}-${process.arch}`, ...discovered, backends: entries }, null, 2));
  } else {
    console.log(`gradlab doctor (node ${process.version}, ${process.platform}-${process.arch})\n`);
    printWebGpuProbe(discovered.webgpu);
    printGpuJsProbe(discovered.gpujs);
    console.log(`${(await import('../backends/wasm/index.js')).describeWasm(discovered.wasm)}\n`);
    for (const e of entries) {
      if (!e.available) {
        console.log(`${e.spec}: not available\n  ${e.error?.split('\n').join('\n  ')}\n`);
        continue;
      }
      const check = e.selfCheck!;
      console.log(`${e.spec}: available (${e.name})`);
      console.log(`  dtypes ${e.dtypes!.join(', ')}; f16 ${e.f16}; max buffer ${e.maxBufferBytes} bytes`);
      for (const f of e.features!) console.log(`  ${f}`);
      console.log(`  self-check: ${check.passed}/${check.cases} kernel cases match the CPU reference`);
      for (const f of check.failures.slice(0, 10)) console.log(`    FAIL ${f}`);
      console.log('');
    }
  }
  // Healthy when the CPU works and every available backend passes its self-check.
  return entries.every((e) => !e.available || e.selfCheck!.failures.length === 0) ? 0 : 1;
}

export const doctorCommand = defineCommand({
  name: 'doctor',
  summary: 'list backends, adapters, features and limits, and self-check every kernel',
  description: 'Lists every backend and variant, whether it works here and why not, the adapter, dtypes, f16 mode, features and limits, and self-checks every kernel x dtype against the CPU reference. Exits 1 when an available backend fails its self-check.',
  options: {
    json: { type: 'boolean', description: 'print the report as JSON' },
    quick: { type: 'boolean', description: 'one self-check case per kernel x dtype instead of three' },
  },
  examples: ['gradlab doctor', 'gradlab doctor --json --quick'],
  run: (values) => runDoctor(values),
});
