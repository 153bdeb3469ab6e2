// Every kernel x dtype of the spec table on Dawn's Vulkan adapter (lavapipe
// on CI) with native shader-f16 storage, against the f64 reference.

import { expect, it } from 'vitest';
import { conformanceSuite } from '../helpers/conformance-suite.js';
import { kernelsOf, openWebGpu } from './helpers/webgpu-fixture.js';

const backend = await openWebGpu('vulkan native f16', { adapter: 'vulkan', f16: 'native' });

if (backend) {
  it('runs on the Vulkan adapter with native f16', () => {
    expect(backend.adapter.kind).toBe('vulkan');
    expect(backend.f16Mode).toBe('native');
    expect(backend.capabilities.dtypes).toEqual(['f32', 'f16', 'i32']);
  });
  const kernels = kernelsOf(backend);
  conformanceSuite('webgpu vulkan, native f16', () => kernels, { timeoutMs: 120_000 });
}
