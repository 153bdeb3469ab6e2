// The kernel-spec table on the wasm backend with one thread (main thread only).

import { withCompositeDefaults } from '../../src/backends/composite.js';
import { conformanceSuite } from '../helpers/conformance-suite.js';
import { openWasm } from './wasm-fixture.js';

const backend = await openWasm(1);
const kernels = withCompositeDefaults(backend, backend);
conformanceSuite('wasm threads=1', () => kernels, { timeoutMs: 120_000 });
