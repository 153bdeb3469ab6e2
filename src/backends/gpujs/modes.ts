// The gpu.js modes this backend runs on, how each is started, and how `auto`
// chooses. A mode counts as working only after a self-check: a few kernels run
// through the whole backend (upload, strided map, Philox stream, readback) and
// match values computed here on the host. That also proves the gpu.js
// internals the backend relies on (see gpujs-library.ts).

import { availableParallelism } from 'node:os';
import { philoxWords, uniformFromWord } from '../../tensor/philox.js';
import { DeviceBlockStorage, HostBlockStorage } from './block-storage.js';
import { ensureNavigatorGpu } from './dawn-navigator.js';
import { GpuJsBackend } from './gpujs-backend.js';
import { loadGpuJs, type GpuJsKernelMode, type WebGpuContext } from './gpujs-library.js';

export const GPUJS_MODES = ['webgpu', 'webasm', 'cpu'] as const satisfies readonly GpuJsKernelMode[];
export type GpuJsMode = (typeof GPUJS_MODES)[number];

export interface GpuJsBackendOptions {
  /** A gpu.js mode, or 'auto' (the default) for the best one that works here. */
  readonly mode?: GpuJsMode | 'auto';
  /** webasm: split big kernels across worker threads (default: when the platform has wasm threads). */
  readonly threads?: boolean;
  /** webasm: worker count (default: the machine's available parallelism). */
  readonly workers?: number;
  /** Offer f16 (emulated: f32 storage, every output rounded to f16). Default true. */
  readonly f16?: boolean;
}

/**
 * Auto's order. webgpu first: on a real GPU it is the only mode that runs
 * kernels in parallel on the device. On a software adapter (Mesa's llvmpipe)
 * webgpu still works but runs on the same CPU cores as webasm, and webasm
 * comes first there: measured side by side on a 2-core machine, webasm's
 * matmul was 1.7-3x faster (512^3: 2.2 vs 0.8-1.3 GFLOP/s), its per-call
 * overhead 3-5x lower (about 30 vs 100-140 us), and an MLP step of (1024 x 256
 * x 1024) 1.5x faster; webgpu won only on large elementwise maps.
 */
export function autoOrder(webgpuIsSoftware: boolean): GpuJsMode[] {
  return webgpuIsSoftware ? ['webasm', 'webgpu', 'cpu'] : ['webgpu', 'webasm', 'cpu'];
}

/** Why auto picked `mode`, given whether webgpu worked and whether its adapter is software. */
export function autoReason(mode: GpuJsMode, webgpuWorks: boolean, webgpuIsSoftware: boolean): string {
  if (mode === 'webgpu') {
    return webgpuIsSoftware ? 'its adapter is software, but webasm does not work here' : 'a WebGPU adapter answered and passed the self-check';
  }
  if (mode === 'webasm' && webgpuWorks && webgpuIsSoftware) {
    return 'the WebGPU adapter is software (llvmpipe), so webasm runs the same CPU cores without the Vulkan emulation in between';
  }
  return mode === 'webasm' ? 'no WebGPU adapter works here' : 'neither webgpu nor webasm works here';
}

export interface ModeDetails {
  readonly mode: GpuJsMode;
  readonly features: string[];
  /** webgpu: the adapter is a CPU implementation (llvmpipe/lavapipe or another fallback adapter). */
  readonly softwareAdapter?: boolean;
}

const COMMON_FEATURES = [
  'f32 compute; i32 stored as exact f32 integers (|v| <= 2^24, or f32-representable)',
  'buffers up to 2^30 elements (exact i32 index division)',
];

/** Starts one mode; throws with the reason when it cannot run here. */
export async function startMode(mode: GpuJsMode, options: GpuJsBackendOptions = {}): Promise<{ backend: GpuJsBackend; details: ModeDetails }> {
  const lib = loadGpuJs();
  const f16 = options.f16 ?? true;
  const f16Feature = f16 ? 'f16 emulated: stored as f32, every kernel output rounded to nearest-even f16' : 'f16 absent';
  switch (mode) {
    case 'webgpu': {
      const navigatorGpu = await ensureNavigatorGpu();
      if (!navigatorGpu.ok) throw new Error(`gpu.js webgpu mode needs navigator.gpu: ${navigatorGpu.detail}`);
      let context: WebGpuContext;
      try {
        context = await lib.WebGPUContext.acquire();
      } catch (cause) {
        throw new Error(`gpu.js webgpu mode found no WebGPU adapter (${(cause as Error).message}); on a machine without a GPU run scripts/install-software-gpu.sh (Mesa's lavapipe)`, { cause });
      }
      const info = context.adapter.info;
      const softwareAdapter = info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(`${info.device} ${info.description}`)
        || (context.adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true || (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
      const limits = context.device.limits;
      const features = [
        'mode webgpu', `gpu.js ${lib.version}`,
        `adapter: ${[info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' / ')}${softwareAdapter ? ' (software)' : ''}`,
        f16Feature, ...COMMON_FEATURES,
      ];
      const backend = new GpuJsBackend({
        mode, gpu: new lib.GPU({ mode }), storage: new DeviceBlockStorage(lib, context), workerPool: null, features,
        maxBufferBytes: Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize), f16,
      });
      return { backend: backend as GpuJsBackend, details: { mode, features, softwareAdapter } };
    }
    case 'webasm': {
      if (!lib.GPU.isWebAssemblySupported) throw new Error('gpu.js webasm mode: this JavaScript engine has no WebAssembly');
      const simd = lib.WebAssemblyKernel.isSIMDSupported;
      const threadsAvailable = lib.WebAssemblyKernel.isThreadsSupported;
      if (options.threads === true && !threadsAvailable) throw new Error('gpu.js webasm mode: threads were requested but this platform has no shared wasm memory');
      const threads = options.threads ?? threadsAvailable;
      const workers = options.workers ?? availableParallelism();
      const workerPool = threads ? new lib.WebAssemblyWorkerPool(workers) : null;
      const features = [
        'mode webasm', `gpu.js ${lib.version}`, `SIMD ${simd ? 'f32x4' : 'unavailable'}`,
        threads ? `threads: ${workers} workers for kernels of >= 4096 elements` : `threads ${threadsAvailable ? 'off' : 'unavailable'}`,
        f16Feature, ...COMMON_FEATURES,
      ];
      // gpu.js copies every argument and the output of a kernel into one wasm32 memory (at most 4 GiB),
      // so a single buffer is held to 1 GiB.
      const backend = new GpuJsBackend({
        mode, gpu: new lib.GPU({ mode }), storage: new HostBlockStorage(), workerPool, features, maxBufferBytes: 2 ** 30, f16,
      });
      return { backend: backend as GpuJsBackend, details: { mode, features } };
    }
    case 'cpu': {
      const features = ['mode cpu', `gpu.js ${lib.version}`, 'kernels transpiled to JavaScript (f64 arithmetic, f32 storage)', f16Feature, ...COMMON_FEATURES];
      const backend = new GpuJsBackend({
        mode, gpu: new lib.GPU({ mode }), storage: new HostBlockStorage(), workerPool: null, features, maxBufferBytes: 2 ** 31, f16,
      });
      return { backend: backend as GpuJsBackend, details: { mode, features } };
    }
  }
}

/**
 * Runs a few kernels through `backend` and compares with host-computed
 * values; throws naming the first mismatch.
 */
export async function selfCheck(backend: GpuJsBackend): Promise<void> {
  const x = backend.alloc('f32', 6);
  const y = backend.alloc('f32', 6);
  const u = backend.alloc('f32', 5);
  try {
    backend.write(x, new Float32Array([1, 2, 3, 4, 5, 6]));
    // A transposed (2, 3) view of x times 2: exercises strided index math and the output binding.
    backend.unary('mulScalar', [3, 2], { buffer: x, offset: 0, strides: [1, 3] }, y, 2);
    backend.random(u, 'uniform', 12345, 2 ** 33 + 3, 0, 1);
    const got = await backend.read(y);
    const expected = [2, 8, 4, 10, 6, 12];
    if (expected.some((v, i) => got[i] !== v)) throw new Error(`self-check: strided map gave [${Array.from(got)}], expected [${expected}]`);
    const words = new Uint32Array(5);
    philoxWords(12345, 2 ** 33 + 3, words);
    const uniforms = await backend.read(u);
    for (let i = 0; i < 5; i++) {
      const want = Math.fround(uniformFromWord(words[i]));
      if (uniforms[i] !== want) throw new Error(`self-check: Philox uniform ${i} is ${uniforms[i]}, expected ${want}`);
    }
  } finally {
    backend.free(x);
    backend.free(y);
    backend.free(u);
  }
}

export interface ModeProbe {
  readonly mode: GpuJsMode;
  readonly available: boolean;
  /** Why the mode does not work here (when !available). */
  readonly reason?: string;
  readonly features?: string[];
  readonly softwareAdapter?: boolean;
  readonly startMs?: number;
}

export async function probeMode(mode: GpuJsMode, options: GpuJsBackendOptions = {}): Promise<ModeProbe> {
  const started = performance.now();
  let backend: GpuJsBackend | null = null;
  try {
    const made = await startMode(mode, options);
    backend = made.backend;
    await selfCheck(backend);
    return { mode, available: true, features: made.details.features, softwareAdapter: made.details.softwareAdapter, startMs: performance.now() - started };
  } catch (error) {
    return { mode, available: false, reason: (error as Error).message };
  } finally {
    backend?.destroy();
  }
}
