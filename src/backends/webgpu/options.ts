// What a caller may choose about a WebGPU backend, and how the registry's
// variant strings (`webgpu:vulkan:packed`) and environment variables map to it.

/** Which Dawn adapter to use: Vulkan (a GPU or Mesa's lavapipe), OpenGL ES in compatibility mode, or the first that works. */
export type AdapterChoice = 'auto' | 'vulkan' | 'gles';

/** f16 storage: native `shader-f16`, packed two halves per u32 (arithmetic in f32), or native when the adapter has it. */
export type F16ModeChoice = 'auto' | 'native' | 'packed';

/** A matmul tiling: output tile (rows x cols) per workgroup, k-slice depth, outputs per invocation (rows x cols). */
export interface MatmulTile {
  readonly tileM: number;
  readonly tileN: number;
  readonly tileK: number;
  readonly threadM: number;
  readonly threadN: number;
}

export interface WebGpuBackendOptions {
  adapter?: AdapterChoice;
  f16?: F16ModeChoice;
  /**
   * Per-kernel GPU time through timestamp queries (one compute pass per
   * dispatch while on). Defaults to the env var GRADLAB_WEBGPU_PROFILE=1.
   */
  profile?: boolean;
  /** Dispatches recorded before a batch is submitted without a readback (default 128). */
  maxDispatchesPerBatch?: number;
  /** Forces one matmul tiling instead of the size-based choice (benchmarks compare tilings this way). */
  matmulTile?: MatmulTile;
  /** Extra flags for Dawn's `create()` (e.g. 'enable-dawn-features=dump_shaders'). */
  dawnFlags?: readonly string[];
}

export const PROFILE_ENV = 'GRADLAB_WEBGPU_PROFILE';
export const MATMUL_TILE_ENV = 'GRADLAB_WEBGPU_MATMUL_TILE';

const VARIANT_HELP = "variants: 'vulkan' or 'gles' (adapter), 'packed' or 'native' (f16 storage), 'profile' (timestamp queries), e.g. webgpu:vulkan:packed";

/** Options from the registry's variant list (`webgpu:gles:packed` gives ['gles', 'packed']). */
export function optionsFromVariant(variant: readonly string[]): WebGpuBackendOptions {
  const options: WebGpuBackendOptions = {};
  for (const v of variant) {
    switch (v) {
      case 'vulkan':
      case 'gles':
        if (options.adapter) throw new Error(`webgpu backend: two adapter variants ('${options.adapter}' and '${v}'); ${VARIANT_HELP}`);
        options.adapter = v;
        break;
      case 'auto':
        break;
      case 'packed':
      case 'native':
        if (options.f16) throw new Error(`webgpu backend: two f16 variants ('${options.f16}' and '${v}'); ${VARIANT_HELP}`);
        options.f16 = v;
        break;
      case 'profile':
        options.profile = true;
        break;
      default:
        throw new Error(`webgpu backend: unknown variant '${v}'; ${VARIANT_HELP}`);
    }
  }
  return options;
}

export function profileFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[PROFILE_ENV];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** Parses `64x64x16x4x4` (tileM x tileN x tileK x threadM x threadN). */
export function parseMatmulTile(text: string): MatmulTile {
  const parts = text.split('x').map(Number);
  if (parts.length !== 5 || parts.some((p) => !Number.isInteger(p) || p <= 0)) {
    throw new Error(`webgpu backend: matmul tile '${text}' is not tileMxtileNxtileKxthreadMxthreadN (e.g. 64x64x16x4x4)`);
  }
  const [tileM, tileN, tileK, threadM, threadN] = parts;
  return { tileM, tileN, tileK, threadM, threadN };
}

export function formatMatmulTile(t: MatmulTile): string {
  return `${t.tileM}x${t.tileN}x${t.tileK}x${t.threadM}x${t.threadN}`;
}
