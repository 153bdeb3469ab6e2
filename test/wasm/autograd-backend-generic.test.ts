// The backend-generic autograd suite (every differentiable op's forward and
// gradients in f32 against the CPU reference in f64) on the wasm backend, with
// two threads splitting every kernel.

import { autogradSuite } from '../helpers/autograd-suite.js';
import { openWasm } from './wasm-fixture.js';

const backend = await openWasm(2, true);
autogradSuite(backend.name, () => backend);
