// Adapter discovery: what the probe reports for each adapter kind, the order
// `auto` follows, the registry's variant strings, and the error a user gets
// when there is no adapter at all.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backends/registry.js';
import { optionsFromVariant, probeWebGpu, type WebGpuBackend } from '../../src/backends/webgpu/index.js';
import { IN_CI } from './helpers/webgpu-fixture.js';

describe('variant strings', () => {
  it('map to adapter, f16 storage and profiling options', () => {
    expect(optionsFromVariant([])).toEqual({});
    expect(optionsFromVariant(['vulkan'])).toEqual({ adapter: 'vulkan' });
    expect(optionsFromVariant(['gles', 'packed'])).toEqual({ adapter: 'gles', f16: 'packed' });
    expect(optionsFromVariant(['vulkan', 'native', 'profile'])).toEqual({ adapter: 'vulkan', f16: 'native', profile: true });
  });

  it('reject unknown and conflicting variants with the accepted ones listed', () => {
    expect(() => optionsFromVariant(['metal'])).toThrow(/unknown variant 'metal'.*'vulkan' or 'gles'/);
    expect(() => optionsFromVariant(['vulkan', 'gles'])).toThrow(/two adapter variants/);
    expect(() => optionsFromVariant(['packed', 'native'])).toThrow(/two f16 variants/);
  });
});

const probe = await probeWebGpu();
const vulkan = probe.attempts.find((a) => a.kind === 'vulkan')!;
const gles = probe.attempts.find((a) => a.kind === 'gles')!;
console.log(`[webgpu probe] vulkan: ${vulkan.ok ? vulkan.adapter!.description : `unavailable (${vulkan.reason})`}; gles: ${gles.ok ? gles.adapter!.description : `unavailable (${gles.reason})`}`);

describe('probe', () => {
  it('tries Vulkan first, then GL ES, and selects the first that works', () => {
    expect(probe.attempts.map((a) => a.kind)).toEqual(['vulkan', 'gles']);
    expect(probe.selected).toBe(probe.attempts.find((a) => a.ok)?.kind ?? null);
    expect(probe.available).toBe(probe.selected !== null);
    if (IN_CI) expect(probe.available, `CI needs an adapter: ${probe.attempts.map((a) => a.reason).join('; ')}`).toBe(true);
  });

  it('describes each available adapter: f16 is native exactly when shader-f16 is offered', () => {
    for (const attempt of probe.attempts.filter((a) => a.ok)) {
      const a = attempt.adapter!;
      expect(a.description.length).toBeGreaterThan(0);
      expect(a.f16).toBe(a.features.includes('shader-f16') ? 'native' : 'packed');
      expect(a.timestampQuery).toBe(a.features.includes('timestamp-query'));
      expect(a.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
      expect(a.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    }
  });

  it.runIf(gles.ok)('the GL ES adapter runs at the compatibility feature level', () => {
    expect(gles.adapter!.featureLevel).toBe('compatibility');
  });

  it.runIf(probe.available)('the registry opens webgpu variants with the f16 storage they name', async () => {
    const kind = probe.selected!;
    const forced = (await createBackend(`webgpu:${kind}:packed`)) as WebGpuBackend;
    try {
      expect(forced.name).toBe(forced.adapter.f16 === 'native' ? `webgpu:${kind}:packed` : `webgpu:${kind}`);
      expect(forced.capabilities.f16).toBe('packed');
    } finally {
      forced.destroy();
    }
  });
});

describe('no adapter', () => {
  it('the error names what was tried and what to install', () => {
    // Point the Vulkan loader at a driver list that does not exist, in a child process.
    const script = fileURLToPath(new URL('./helpers/open-backend-child.ts', import.meta.url));
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', script, 'vulkan'], {
      env: { ...process.env, VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const outcome = JSON.parse(stdout.trim().split('\n').pop()!) as { ok: boolean; message?: string };
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toMatch(/no usable WebGPU adapter \(vulkan: /);
    expect(outcome.message).toMatch(/scripts\/install-software-gpu\.sh/);
    expect(outcome.message).toMatch(/mesa-vulkan-drivers/);
  }, 30_000);
});
