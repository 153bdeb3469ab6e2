// gradlab's public API.

import './autograd/tensor-methods.js';

// Tensors, creation, lifetimes
export { Tensor, type TensorValues } from './tensor/tensor.js';
export type { DType, FloatDType } from './tensor/dtype.js';
export { tensor, zeros, ones, full, arange, randn, rand, type CreateOptions } from './tensor/creation.js';
export { tidy, keep, dispose } from './tensor/scope.js';
export { manualSeed, getGeneratorState, setGeneratorState, type GeneratorState } from './tensor/generator.js';
export { f64ToF16Bits, f16BitsToNumber, roundToF16 } from './tensor/f16.js';

// Backends
export type { Backend, BackendCapabilities } from './backends/backend.js';
export { CpuBackend } from './backends/cpu/cpu-backend.js';
export { createBackend, parseBackendSpec, BACKEND_NAMES, type BackendName } from './backends/registry.js';
export { useBackend, currentBackend, withBackend } from './tensor/runtime.js';

// Memory ledger and work counter
export { memoryReport, resetPeakMemory, workReport, resetWork, type PrintableMemoryReport, type PrintableWorkReport } from './tensor/reports.js';
export { MEMORY_CATEGORIES, formatBytes, type MemoryCategory, type MemoryReport } from './tensor/memory-ledger.js';
export { PHASES, withPhase, type Phase, type WorkReport } from './tensor/work-counter.js';

// Autograd
export * from './autograd/functional.js';
export { backward, type BackwardOptions } from './autograd/backward.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd/grad-mode.js';
export { zeroGrad } from './autograd/grad-utils.js';
export { checkpoint } from './autograd/checkpoint.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './autograd/gradcheck.js';
export { registeredOps } from './autograd/differentiable-op.js';

// Training
export { AdamW, type AdamWOptions } from './train/adamw.js';
export * from './nn/index.js';
export * from './train/weights/index.js';

// Accelerator backends with their typed options (Dawn and gpu.js load only when one is created)
export { createWebGpuBackend, probeWebGpu, type WebGpuBackend, type WebGpuBackendOptions } from './backends/webgpu/index.js';
export { createGpuJsBackend, probeGpuJs, type GpuJsBackend, type GpuJsBackendOptions } from './backends/gpujs/index.js';
