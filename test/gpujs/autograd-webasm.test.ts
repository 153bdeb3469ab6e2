// The backend-generic autograd suite (every differentiable op's forward and
// gradients in f32 against the CPU reference in f64) on gpu.js's webasm mode.

import { autogradSuite } from '../helpers/autograd-suite.js';
import { openGpuJs } from './helpers/gpujs-fixture.js';

const backend = await openGpuJs('webasm');
if (backend) {
  autogradSuite('gpujs webasm', () => backend);
}
