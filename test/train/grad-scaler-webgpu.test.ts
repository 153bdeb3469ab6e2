// GradScaler on WebGPU (Dawn, Vulkan adapter): the same suite as on the CPU.
// The unscale and the inf/NaN check run in the WGSL kernel; one readback per
// step. Skips with a printed reason without an adapter; under CI=true that fails.

import { openWebGpu } from '../webgpu/helpers/webgpu-fixture.js';
import { gradScalerSuite } from './helpers/grad-scaler-suite.js';

const backend = await openWebGpu('grad scaler (vulkan)', { adapter: 'vulkan' });

if (backend) gradScalerSuite(backend.name, backend, { propertyRuns: 100 });
