// AdamW on WebGPU (Dawn, Vulkan adapter): the same suite as on the CPU —
// PyTorch goldens in f32, bitwise state-dict resume, ledger bytes, zeroGrad.
// Skips with a printed reason without an adapter; under CI=true that fails.

import { openWebGpu } from '../webgpu/helpers/webgpu-fixture.js';
import { adamwSuite } from './helpers/adamw-suite.js';

const backend = await openWebGpu('adamw (vulkan)', { adapter: 'vulkan' });

// The CPU's f32 tolerance (rtol 1e-6 plus 1e-6 x the tensor's max): WGSL's division and
// sqrt may be a few ulp off, still far inside it (lavapipe: under a tenth of it).
if (backend) {
  adamwSuite(backend.name, backend, { dtypes: ['f32'], tolerance: { f32: { rtol: 1e-6, atolOfMax: 1e-6 }, f64: { rtol: 0, atolOfMax: 0 } } });
}
