// The backend specs the CLI documents, and the `--backend SPEC` value kind.
// The help text lists every spec; the validator checks the backend name
// against the registry (so a backend added there is accepted here) and
// WebGPU's variants; gpu.js variants are checked by createBackend, whose
// errors name the spec.

import { parseBackendSpec } from '../backends/registry.js';
import { optionsFromVariant } from '../backends/webgpu/options.js';
import type { ValueKind } from './flags.js';

/** Every spec the README lists, with what it selects (one line each in `--help`). */
export const BACKEND_SPEC_HELP: readonly (readonly [spec: string, what: string])[] = [
  ['cpu', 'the CPU reference (f64, f32, f16, i32)'],
  ['webgpu', 'Dawn: Vulkan first, then OpenGL ES (compatibility)'],
  ['webgpu:vulkan', 'force the Vulkan adapter'],
  ['webgpu:gles', 'force the OpenGL ES adapter (f16 packed)'],
  ['webgpu:vulkan:packed', 'f16 packed two per u32 even with shader-f16'],
  ['webgpu:vulkan:native', 'f16 through shader-f16 (fails without it)'],
  ['webgpu[:...]:profile', 'suffix: per-kernel GPU timing (timestamp queries)'],
  ['gpujs', 'gpu.js, best mode that works here (= gpujs:auto)'],
  ['gpujs:webgpu', 'gpu.js through Dawn'],
  ['gpujs:webasm', 'gpu.js compiled to WebAssembly (:threads|:nothreads)'],
  ['gpujs:cpu', "gpu.js's JavaScript mode"],
  ['wasm', 'WebAssembly SIMD kernels on every core (wasm:threads=N)'],
];

/** Help lines for a `--backend` option. */
export function backendSpecDetails(): string[] {
  const width = Math.max(...BACKEND_SPEC_HELP.map(([s]) => s.length)) + 2;
  return ['SPEC is one of:', ...BACKEND_SPEC_HELP.map(([spec, what]) => `  ${spec.padEnd(width)}${what}`)];
}

/** `--backend SPEC`: a registry backend name with optional `:variant`s. */
export function backendSpec(): ValueKind<string> {
  return {
    placeholder: 'SPEC',
    accepts: 'a backend spec: cpu, webgpu[:vulkan|:gles][:packed|:native][:profile], gpujs[:auto|:webgpu|:webasm|:cpu] or wasm[:threads=N]',
    parse(raw) {
      if (raw.trim() === '') throw new Error('an empty value is not a backend spec');
      const parsed = parseBackendSpec(raw);
      // WebGPU's variant grammar is pure data (no Dawn load), so it is checked here; gpu.js's at creation.
      if (parsed.name === 'webgpu') optionsFromVariant(parsed.variant);
      return raw;
    },
  };
}
