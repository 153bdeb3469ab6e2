// `gradlab doctor --json` tells the truth: each backend it calls available can
// be created here and passed its kernel self-check; each it calls unavailable
// fails to create here with the same reason; and the probes agree.

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

interface Entry { spec: string; available: boolean; error?: string; selfCheck?: { cases: number; passed: number; failures: string[] } }

const report = JSON.parse(execFileSync('node', ['bin/gradlab.js', 'doctor', '--json', '--quick'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as {
  backends: Entry[];
  webgpu: { selected: string | null; attempts: { kind: string; ok: boolean }[] };
  wasm: { simd: boolean; sharedMemory: boolean; defaultThreads: number };
  gpujs: { modes: { mode: string; available: boolean }[]; auto: { mode: string } | null };
};

describe('gradlab doctor', () => {
  it('lists cpu, wasm, every WebGPU variant and every gpu.js mode', () => {
    expect(report.backends.map((e) => e.spec)).toEqual(['cpu', 'wasm', 'webgpu:vulkan', 'webgpu:vulkan:packed', 'webgpu:gles', 'gpujs', 'gpujs:webgpu', 'gpujs:webasm', 'gpujs:cpu']);
  });

  it('every available backend passed its self-check on every kernel case', () => {
    for (const e of report.backends.filter((x) => x.available)) {
      expect(e.selfCheck!.cases, e.spec).toBeGreaterThan(90);
      expect(e.selfCheck!.failures, e.spec).toEqual([]);
      expect(e.selfCheck!.passed).toBe(e.selfCheck!.cases);
    }
  });

  it.each(['cpu', 'wasm', 'webgpu:vulkan', 'webgpu:gles', 'gpujs:webasm', 'gpujs:webgpu'])('%s: availability matches creating it in this process', async (spec) => {
    const entry = report.backends.find((e) => e.spec === spec)!;
    let created: g.Backend | null = null;
    let error = '';
    try { created = await g.createBackend(spec); } catch (err) { error = (err as Error).message; }
    expect(entry.available).toBe(created !== null);
    if (!created) expect(entry.error).toBe(error);
    created?.destroy();
  });

  it('the WebGPU and gpu.js probes agree with the backend list', () => {
    const vulkan = report.webgpu.attempts?.find((a) => a.kind === 'vulkan');
    expect(vulkan?.ok ?? false).toBe(report.backends.find((e) => e.spec === 'webgpu:vulkan')!.available);
    for (const m of report.gpujs.modes ?? []) {
      expect(m.available, m.mode).toBe(report.backends.find((e) => e.spec === `gpujs:${m.mode}`)!.available);
    }
    if (report.gpujs.auto) expect(report.backends.find((e) => e.spec === 'gpujs')!.available).toBe(true);
    expect(report.wasm.simd && report.wasm.sharedMemory).toBe(report.backends.find((e) => e.spec === 'wasm')!.available);
  });

  it('under CI=true the accelerators CI installs are available', () => {
    if (process.env.CI !== 'true') {
      console.log('[doctor] not under CI=true: availability of webgpu:vulkan and gpujs:webasm is reported, not required');
      return;
    }
    for (const spec of ['wasm', 'webgpu:vulkan', 'webgpu:gles', 'gpujs:webasm', 'gpujs:webgpu']) {
      expect(report.backends.find((e) => e.spec === spec)!.available, spec).toBe(true);
    }
  });
}, 300_000);
