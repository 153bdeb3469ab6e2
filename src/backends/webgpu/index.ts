// The WebGPU backend (Dawn through the npm package `webgpu`): what the
// registry and `gradlab doctor` call.

import type { Backend } from '../backend.js';
import { optionsFromVariant, type WebGpuBackendOptions } from './options.js';
import { WebGpuBackend } from './webgpu-backend.js';

export { WebGpuBackend } from './webgpu-backend.js';
export type { ProfilingState } from './webgpu-backend.js';
export { probeWebGpu, INSTALL_HINT } from './adapter.js';
export type { AdapterAttempt, AdapterDescription, AdapterKind, F16Mode, WebGpuProbe } from './adapter.js';
export type { AdapterChoice, F16ModeChoice, MatmulTile, WebGpuBackendOptions } from './options.js';
export { PROFILE_ENV, MATMUL_TILE_ENV, formatMatmulTile, parseMatmulTile, optionsFromVariant } from './options.js';
export type { KernelTime } from './profiler.js';
export type { PoolStats } from './buffer-pool.js';
export type { BindGroupCacheStats } from './bind-group-cache.js';
export type { PipelineCacheStats } from './pipeline-cache.js';
export type { StreamStats } from './command-stream.js';
export { MATMUL_TILES } from './kernels/matmul.js';

/** A WebGPU backend with typed options (adapter, f16 storage, profiling, batch size, matmul tile). */
export function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  return WebGpuBackend.create(options);
}

/** The registry's entry point: `webgpu`, `webgpu:vulkan`, `webgpu:gles`, `webgpu:vulkan:packed`, ... */
export function createWebGpuBackendFromVariant(variant: readonly string[]): Promise<Backend> {
  return WebGpuBackend.create(optionsFromVariant(variant));
}
