// The backend-generic autograd suite on the CPU backend in f32 (the same suite
// runs on WebGPU and gpu.js in their own test folders).

import * as g from '../../src/index.js';
import { autogradSuite } from '../helpers/autograd-suite.js';

const cpu = new g.CpuBackend();
autogradSuite('cpu', () => cpu);
