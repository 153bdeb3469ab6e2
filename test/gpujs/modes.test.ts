// Mode selection: the registry's `gpujs[:mode]` specs, the doctor probe (which
// modes work here and why the others do not), and `auto`'s choice with its
// reason. Under CI=true, webgpu (lavapipe) and webasm must both work.

import { describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backends/registry.js';
import { autoOrder } from '../../src/backends/gpujs/modes.js';
import { GpuJsBackend, probeGpuJs } from '../../src/backends/gpujs/index.js';
import { IN_CI } from './helpers/gpujs-fixture.js';

describe('gpu.js modes', () => {
  it('the doctor probe starts and self-checks every mode, and names the reason for any that fails', async () => {
    const report = await probeGpuJs();
    expect(report.modes.map((m) => m.mode)).toEqual(['webgpu', 'webasm', 'cpu']);
    for (const probe of report.modes) {
      console.log(`[gpujs probe] ${probe.mode}: ${probe.available ? `works (${probe.features?.join('; ')})` : `unavailable: ${probe.reason}`}`);
      if (!probe.available) expect(probe.reason).toMatch(/\w/);
    }
    const byMode = Object.fromEntries(report.modes.map((m) => [m.mode, m]));
    expect(byMode.webasm.available).toBe(true);
    expect(byMode.cpu.available).toBe(true);
    if (IN_CI) expect(byMode.webgpu.available, `webgpu: ${byMode.webgpu.reason}`).toBe(true);
    expect(report.auto).not.toBeNull();
    const expected = autoOrder(byMode.webgpu.softwareAdapter === true).find((m) => byMode[m].available);
    expect(report.auto!.mode).toBe(expected);
    console.log(`[gpujs probe] auto chooses ${report.auto!.mode}: ${report.auto!.reason}`);
  });

  it('auto prefers webgpu on a GPU and webasm over a software adapter', () => {
    expect(autoOrder(false)[0]).toBe('webgpu');
    expect(autoOrder(true)).toEqual(['webasm', 'webgpu', 'cpu']);
  });

  it('createBackend builds each mode from its spec and reports the mode', async () => {
    for (const spec of ['gpujs:webasm', 'gpujs:webasm:nothreads', 'gpujs:cpu', 'gpujs']) {
      const backend = await createBackend(spec);
      try {
        expect(backend).toBeInstanceOf(GpuJsBackend);
        expect(backend.name).toMatch(/^gpujs:(webgpu|webasm|cpu)$/);
        if (spec === 'gpujs') expect(backend.capabilities.features.some((f) => f.startsWith('auto: chose'))).toBe(true);
        if (spec.endsWith('nothreads')) expect(backend.capabilities.features).toContain('threads off');
      } finally {
        backend.destroy();
      }
    }
  });

  it('rejects unknown modes and options, listing the valid ones', async () => {
    await expect(createBackend('gpujs:webgl')).rejects.toThrow("backend 'gpujs:webgl': unknown gpu.js mode 'webgl'; expected gpujs, gpujs:auto, gpujs:webgpu, gpujs:webasm, gpujs:cpu");
    await expect(createBackend('gpujs:cpu:threads')).rejects.toThrow("only gpujs:webasm takes one (threads or nothreads)");
  });
});
