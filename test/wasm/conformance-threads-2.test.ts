// The kernel-spec table on the wasm backend with two threads, every kernel split
// between them however small, so the threaded paths see every generated case.

import { expect, it } from 'vitest';
import { withCompositeDefaults } from '../../src/backends/composite.js';
import { conformanceSuite } from '../helpers/conformance-suite.js';
import { openWasm } from './wasm-fixture.js';

const backend = await openWasm(2, true);
const kernels = withCompositeDefaults(backend, backend);

it('runs two threads', () => {
  expect(backend.threads).toBe(2);
  expect(backend.name).toBe('wasm:threads=2');
});
conformanceSuite('wasm threads=2 (always parallel)', () => kernels, { timeoutMs: 120_000 });
