// The spec table on the Vulkan adapter with f16 forced into the packed form
// (two halves per u32, f32 arithmetic), so the packed path is tested on a
// core-feature-level adapter too, not only on GL ES.

import { expect, it } from 'vitest';
import { conformanceSuite } from '../helpers/conformance-suite.js';
import { kernelsOf, openWebGpu } from './helpers/webgpu-fixture.js';

const backend = await openWebGpu('vulkan packed f16', { adapter: 'vulkan', f16: 'packed' });

if (backend) {
  it('runs on the Vulkan adapter with packed f16', () => {
    expect(backend.adapter.kind).toBe('vulkan');
    expect(backend.f16Mode).toBe('packed');
  });
  const kernels = kernelsOf(backend);
  conformanceSuite('webgpu vulkan, packed f16', () => kernels, { timeoutMs: 120_000 });
}
