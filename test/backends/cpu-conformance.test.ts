import { CpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { compositeFusedKernels, withCompositeDefaults } from '../../src/backends/composite.js';
import type { KernelSet } from '../../src/backends/backend.js';
import { conformanceSuite } from '../helpers/conformance-suite.js';

const cpu = new CpuBackend();
const allocator = { alloc: cpu.alloc.bind(cpu), free: cpu.free.bind(cpu) };

// The CPU backend's native fused kernels.
conformanceSuite('cpu', () => withCompositeDefaults(cpu, allocator));

// The composite defaults (fused kernels built from core kernels), run on the CPU core.
const composite = Object.assign(Object.create(cpu), compositeFusedKernels(cpu, allocator)) as KernelSet;
conformanceSuite('cpu composite defaults', () => composite);
