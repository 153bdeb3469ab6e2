/// <reference types="@webgpu/types" />
// A typed facade over gpu.js 2.24.1 (a CommonJS package whose typings do not
// cover its WebGPU and WebAssembly backends). Everything the backend touches in
// gpu.js goes through this file, including the few internals it relies on
// (marked INTERNAL); package.json pins gpu.js to exactly 2.24.1 for that reason,
// and the backend's self-check (see modes.ts) proves them on every start.

import { createRequire } from 'node:module';

/** gpu.js's internal backend names that this backend uses. */
export type GpuJsKernelMode = 'webgpu' | 'webasm' | 'cpu';

/** Argument types as gpu.js spells them. */
export type GpuJsArgumentType = 'Array' | 'Integer' | 'Float';

export interface GpuJsFunctionDefinition {
  readonly source: string;
  readonly settings: { readonly argumentTypes: Record<string, GpuJsArgumentType>; readonly returnType: 'Integer' | 'Number' };
}

export interface GpuJsKernelSettings {
  output: number[];
  argumentTypes: Record<string, GpuJsArgumentType>;
  functions: GpuJsFunctionDefinition[];
  dynamicOutput: boolean;
  dynamicArguments: boolean;
  pipeline: boolean;
  immutable: boolean;
  loopMaxIterations: number;
  precision: 'single';
  tactic: 'precision';
  asyncMode: boolean;
}

/** The kernel object behind a run shortcut (fields this backend reads or sets). */
export interface GpuJsKernel {
  built: boolean;
  output: number[];
  readonly constructor: { readonly mode: string };
  fallbackReason?: string | null;
  /** Under gpu.js's async contract a call returns a promise (webasm: and may run on worker threads). */
  asyncMode: boolean;
  setOutput(output: number[]): unknown;
  destroy(removeCanvasReferences?: boolean): void;
  // INTERNAL (webgpu): the kernel's output storage buffer, its bind-group cache flag, its pending build.
  outputBuffer?: GPUBuffer | null;
  bindGroupDirty?: boolean;
  _buildPromise?: Promise<void> | null;
  compiledSource?: string | null;
  // INTERNAL (webasm): the kernel's worker pool (shared across kernels here), its module cache
  // bound, and the module assembler (wrapped to count compilations).
  _pool?: unknown;
  moduleCacheLimit?: number;
  _assembleModule?: (...args: unknown[]) => unknown;
  _lastRunPath?: string | null;
}

/** gpu.js's callable kernel ("run shortcut"). */
export interface GpuJsKernelShortcut {
  (...args: unknown[]): unknown;
  readonly kernel: GpuJsKernel;
  setOutput(output: number[]): GpuJsKernelShortcut;
  destroy(removeCanvasReferences?: boolean): void;
}

export interface GpuJsInstance {
  readonly mode: string;
  createKernel(source: string, settings: GpuJsKernelSettings): GpuJsKernelShortcut;
  destroy(): Promise<void>;
}

/** gpu.js's pipeline-mode handle for a WebGPU buffer; also how a raw buffer is passed as a kernel argument. */
export interface WebGpuBufferResult {
  readonly buffer: GPUBuffer;
  readonly output: number[];
}

export interface WebGpuContext {
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly isLost: boolean;
}

export interface WebAssemblyWorkerPool {
  readonly size: number;
  /** Dispatches sent to the workers so far. */
  readonly dispatchCount: number;
  destroy(): void;
}

export interface GpuJsLibrary {
  readonly GPU: {
    new (settings: { mode: GpuJsKernelMode }): GpuJsInstance;
    readonly isWebGPUSupported: boolean;
    isWebGPUAvailable(): Promise<boolean>;
    readonly isWebAssemblySupported: boolean;
  };
  readonly WebGPUBufferResult: new (settings: { buffer: GPUBuffer; output: number[]; componentCount: number; context: WebGpuContext; kernel: unknown }) => WebGpuBufferResult;
  readonly WebGPUContext: { acquire(): Promise<WebGpuContext>; readonly isSupported: boolean };
  readonly WebAssemblyKernel: { readonly isSupported: boolean; readonly isSIMDSupported: boolean; readonly isThreadsSupported: boolean };
  /** INTERNAL: not exported by gpu.js's index; loaded from its source tree to share one pool across kernels. */
  readonly WebAssemblyWorkerPool: new (size?: number) => WebAssemblyWorkerPool;
  readonly version: string;
}

let library: GpuJsLibrary | null = null;

/** Loads gpu.js once (synchronously: it is CommonJS and cheap to require). */
export function loadGpuJs(): GpuJsLibrary {
  if (library) return library;
  const require = createRequire(import.meta.url);
  const index = require('gpu.js') as Omit<GpuJsLibrary, 'WebAssemblyWorkerPool' | 'version'>;
  const pool = require('gpu.js/src/backend/web-assembly/worker-pool.js') as { WebAssemblyWorkerPool: GpuJsLibrary['WebAssemblyWorkerPool'] };
  const pkg = require('gpu.js/package.json') as { version: string };
  library = { ...index, WebAssemblyWorkerPool: pool.WebAssemblyWorkerPool, version: pkg.version };
  return library;
}
