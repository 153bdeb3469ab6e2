// The spec table on Dawn's OpenGL ES adapter at the compatibility feature
// level (EGL surfaceless). It has no shader-f16, so f16 runs packed.

import { expect, it } from 'vitest';
import { conformanceSuite } from '../helpers/conformance-suite.js';
import { kernelsOf, openWebGpu } from './helpers/webgpu-fixture.js';

const backend = await openWebGpu('gles compatibility', { adapter: 'gles' });

if (backend) {
  it('runs on the GL ES adapter at the compatibility level with packed f16', () => {
    expect(backend.adapter.kind).toBe('gles');
    expect(backend.adapter.featureLevel).toBe('compatibility');
    expect(backend.f16Mode).toBe('packed');
  });
  const kernels = kernelsOf(backend);
  conformanceSuite('webgpu gles compatibility, packed f16', () => kernels, { timeoutMs: 120_000 });
}
