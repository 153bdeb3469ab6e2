// Adapter discovery and device creation. Order: Vulkan (a real GPU, or Mesa's
// lavapipe in software), then OpenGL ES at the compatibility feature level
// through EGL surfaceless. Compatibility devices start with small default
// limits, so every limit the kernels rely on is requested explicitly.

import { loadDawn, type DawnModule } from './dawn.js';
import type { AdapterChoice, F16ModeChoice } from './options.js';

export type AdapterKind = 'vulkan' | 'gles';
export type F16Mode = 'native' | 'packed';

/** Limits the kernels depend on (requested at the adapter's maximum). */
export const REQUESTED_LIMITS = [
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxUniformBufferBindingSize', 'minUniformBufferOffsetAlignment',
  'minStorageBufferOffsetAlignment',
] as const;
export type RequestedLimit = (typeof REQUESTED_LIMITS)[number];

/**
 * What the kernels need at least; an adapter below any of these is refused
 * with the figure named. 256 invocations: the elementwise and reduction
 * workgroups; 5 storage buffers: the most one kernel binds (matmul binds each
 * operand twice, as elements and as vec4s). Compatibility devices default to
 * 128 invocations and 4 storage buffers, hence the explicit request.
 */
export const MINIMUM_LIMITS: Partial<Record<RequestedLimit, number>> = {
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16384,
  maxStorageBuffersPerShaderStage: 5,
};

export interface AdapterDescription {
  readonly kind: AdapterKind;
  readonly featureLevel: 'core' | 'compatibility';
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly isFallbackAdapter: boolean;
  readonly subgroupMinSize?: number;
  readonly subgroupMaxSize?: number;
  readonly features: readonly string[];
  readonly limits: Readonly<Record<RequestedLimit, number>>;
  /** How f16 is stored on this adapter when not forced: native with shader-f16, else packed. */
  readonly f16: F16Mode;
  readonly timestampQuery: boolean;
}

export interface AdapterAttempt {
  readonly kind: AdapterKind;
  readonly ok: boolean;
  /** Why the adapter is unavailable (when !ok). */
  readonly reason?: string;
  readonly adapter?: AdapterDescription;
}

/** Doctor data: every adapter kind tried, what it offers, and which one `auto` selects. */
export interface WebGpuProbe {
  readonly available: boolean;
  readonly selected: AdapterKind | null;
  readonly attempts: readonly AdapterAttempt[];
  /** What to install when nothing is available. */
  readonly installHint: string;
}

export const INSTALL_HINT =
  'On a machine without a GPU run `scripts/install-software-gpu.sh` as root: it installs the Vulkan loader (libvulkan1), ' +
  "Mesa's lavapipe software Vulkan driver (mesa-vulkan-drivers, Mesa 25 from bookworm-backports) and the EGL/GL ES libraries " +
  '(libegl1, libegl-mesa0, libgles2, libgl1-mesa-dri) for the OpenGL ES fallback. With an NVIDIA GPU, install libvulkan1 and the ' +
  "driver's Vulkan ICD, and point VK_DRIVER_FILES at its nvidia_icd.json if it is outside the default search path.";

export interface OpenedDevice {
  readonly dawn: DawnModule;
  /** Kept referenced: the GPU instance owns the adapter and device. */
  readonly gpu: GPU;
  readonly device: GPUDevice;
  readonly adapter: AdapterDescription;
  readonly f16Mode: F16Mode;
  readonly timestampQuery: boolean;
  readonly attempts: readonly AdapterAttempt[];
}

interface FoundAdapter {
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly description: AdapterDescription;
}

const ADAPTER_ORDER: readonly AdapterKind[] = ['vulkan', 'gles'];

function describe(kind: AdapterKind, adapter: GPUAdapter): AdapterDescription {
  const info = adapter.info;
  const features = [...adapter.features].sort();
  const limits = {} as Record<RequestedLimit, number>;
  for (const name of REQUESTED_LIMITS) limits[name] = (adapter.limits as unknown as Record<string, number>)[name];
  return {
    kind,
    featureLevel: features.includes('core-features-and-limits') ? 'core' : 'compatibility',
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: Boolean(info.isFallbackAdapter),
    subgroupMinSize: info.subgroupMinSize,
    subgroupMaxSize: info.subgroupMaxSize,
    features,
    limits,
    f16: features.includes('shader-f16') ? 'native' : 'packed',
    timestampQuery: features.includes('timestamp-query'),
  };
}

async function findAdapter(dawn: DawnModule, kind: AdapterKind, extraFlags: readonly string[]): Promise<FoundAdapter | { reason: string }> {
  try {
    if (kind === 'gles') {
      // Dawn's GL ES backend goes through EGL; surfaceless needs no display server.
      process.env.EGL_PLATFORM ??= 'surfaceless';
    }
    const gpu = dawn.create([`backend=${kind === 'vulkan' ? 'vulkan' : 'opengles'}`, ...extraFlags]);
    const adapter = await gpu.requestAdapter(
      kind === 'gles' ? { featureLevel: 'compatibility', powerPreference: 'high-performance' } : { powerPreference: 'high-performance' },
    );
    if (!adapter) {
      return {
        reason: kind === 'vulkan'
          ? 'Dawn found no Vulkan adapter (no Vulkan driver/ICD, or a Mesa older than 25 whose lavapipe lacks features Dawn needs)'
          : 'Dawn found no OpenGL ES adapter through EGL (libegl1/libegl-mesa0/libgles2 missing?)',
      };
    }
    const description = describe(kind, adapter);
    const short = Object.entries(MINIMUM_LIMITS).filter(([name, min]) => description.limits[name as RequestedLimit] < (min as number));
    if (short.length > 0) {
      return { reason: `adapter '${description.description}' is below the limits the kernels need: ${short.map(([n, min]) => `${n} ${description.limits[n as RequestedLimit]} < ${min}`).join(', ')}` };
    }
    return { gpu, adapter, description };
  } catch (cause) {
    return { reason: `Dawn failed while looking for a ${kind} adapter: ${(cause as Error).message}` };
  }
}

function noAdapterError(attempts: readonly AdapterAttempt[], request?: Pick<OpenDeviceRequest, 'f16'>): Error {
  const tried = attempts.map((a) => `${a.kind}: ${a.reason}`).join('; ');
  // An adapter was found but lacks shader-f16: installing drivers will not help, dropping ':native' will.
  if (request?.f16 === 'native' && attempts.some((a) => a.adapter && a.adapter.f16 !== 'native')) {
    const gles = attempts.some((a) => a.kind === 'gles' && a.adapter);
    return new Error(
      `webgpu backend: f16 'native' needs the shader-f16 feature, which no adapter here offers (${tried}). ` +
      `${gles ? "Dawn's OpenGL ES adapter never has shader-f16. " : ''}Drop ':native' (packed f16 works on every adapter, e.g. webgpu:gles or webgpu:vulkan:packed), ` +
      'or use webgpu:vulkan:native on a Vulkan adapter that lists shader-f16 in `gradlab doctor`.',
    );
  }
  return new Error(`webgpu backend: no usable WebGPU adapter (${tried}). ${INSTALL_HINT}`);
}

export interface OpenDeviceRequest {
  readonly adapter: AdapterChoice;
  readonly f16: F16ModeChoice;
  readonly timestamps: boolean;
  readonly dawnFlags: readonly string[];
}

export async function openDevice(request: OpenDeviceRequest): Promise<OpenedDevice> {
  const dawn = await loadDawn();
  const kinds = request.adapter === 'auto' ? ADAPTER_ORDER : [request.adapter];
  // Dawn rounds timestamps to 100 us by default (a fingerprinting defence); profiling wants them exact.
  const flags = request.timestamps ? ['disable-dawn-features=timestamp_quantization', ...request.dawnFlags] : [...request.dawnFlags];
  const attempts: AdapterAttempt[] = [];
  for (const kind of kinds) {
    const found = await findAdapter(dawn, kind, flags);
    if ('reason' in found) {
      attempts.push({ kind, ok: false, reason: found.reason });
      continue;
    }
    const { gpu, adapter, description } = found;
    if (request.f16 === 'native' && description.f16 !== 'native') {
      attempts.push({ kind, ok: false, reason: `f16 'native' was requested but adapter '${description.description}' lacks shader-f16`, adapter: description });
      continue;
    }
    const f16Mode: F16Mode = request.f16 === 'packed' ? 'packed' : description.f16;
    const timestampQuery = request.timestamps && description.timestampQuery;
    const requiredFeatures: GPUFeatureName[] = [];
    if (f16Mode === 'native') requiredFeatures.push('shader-f16');
    if (timestampQuery) requiredFeatures.push('timestamp-query');
    const requiredLimits: Record<string, number> = {};
    for (const name of REQUESTED_LIMITS) requiredLimits[name] = description.limits[name];
    try {
      const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: `gradlab ${kind}` });
      attempts.push({ kind, ok: true, adapter: description });
      return { dawn, gpu, device, adapter: description, f16Mode, timestampQuery, attempts };
    } catch (cause) {
      attempts.push({ kind, ok: false, reason: `requestDevice failed: ${(cause as Error).message}`, adapter: description });
    }
  }
  throw noAdapterError(attempts, request);
}

/** Looks at every adapter kind without creating a device (for `gradlab doctor`). */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  let dawn: DawnModule;
  try {
    dawn = await loadDawn();
  } catch (cause) {
    const reason = (cause as Error).message;
    return { available: false, selected: null, attempts: ADAPTER_ORDER.map((kind) => ({ kind, ok: false, reason })), installHint: INSTALL_HINT };
  }
  const attempts: AdapterAttempt[] = [];
  for (const kind of ADAPTER_ORDER) {
    const found = await findAdapter(dawn, kind, []);
    attempts.push('reason' in found ? { kind, ok: false, reason: found.reason } : { kind, ok: true, adapter: found.description });
  }
  const selected = attempts.find((a) => a.ok)?.kind ?? null;
  return { available: selected !== null, selected, attempts, installHint: INSTALL_HINT };
}
