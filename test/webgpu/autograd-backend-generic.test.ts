// The backend-generic autograd suite (every differentiable op's forward and
// gradients in f32 against the CPU reference in f64) on the WebGPU backend.

import { autogradSuite } from '../helpers/autograd-suite.js';
import { openWebGpu } from './helpers/webgpu-fixture.js';

const backend = await openWebGpu('autograd', { adapter: 'auto' });
if (backend) {
  autogradSuite(backend.name, () => backend);
}
