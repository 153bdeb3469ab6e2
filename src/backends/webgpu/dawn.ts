/// <reference types="@webgpu/types" />
// Loads Dawn's Node bindings (npm `webgpu`) on first use, so importing the
// backend module costs nothing until a WebGPU backend is actually created.

export interface DawnModule {
  /** Dawn's `create(flags)`, memoised: one GPU instance per flag set (e.g. ['backend=vulkan']) for the process. */
  create(flags: string[]): GPU;
  readonly BufferUsage: GPUBufferUsage;
  readonly MapMode: GPUMapMode;
  readonly ShaderStage: GPUShaderStage;
}

let loading: Promise<DawnModule> | null = null;

export function loadDawn(): Promise<DawnModule> {
  loading ??= (async () => {
    let mod: { create(flags: string[]): GPU; globals: object };
    try {
      mod = (await import('webgpu')) as typeof mod;
    } catch (cause) {
      throw new Error(
        'webgpu backend: cannot load the npm package `webgpu` (Dawn\'s Node bindings, dist/linux-x64/dawn.node); ' +
        `install it with \`npm install\` (it is a dependency of gradlab): ${(cause as Error).message}`,
        { cause },
      );
    }
    const globals = mod.globals as { GPUBufferUsage: GPUBufferUsage; GPUMapMode: GPUMapMode; GPUShaderStage: GPUShaderStage };
    // One GPU instance per flag set for the whole process. Dawn discovers the
    // physical devices once per instance and, for drivers that report more
    // dynamic buffers per pipeline layout than its own maximum of 16 (lavapipe
    // 1000000, Mesa GL ES 90/80), prints two "artificially reduced" warnings
    // while doing so: that happens inside requestAdapter, before any limit is
    // requested, and no toggle silences it. Reusing the instance makes it once
    // per process and adapter kind instead of once per backend created.
    const instances = new Map<string, GPU>();
    const create = (flags: string[]): GPU => {
      const key = JSON.stringify(flags);
      let gpu = instances.get(key);
      if (!gpu) instances.set(key, (gpu = mod.create(flags)));
      return gpu;
    };
    return { create, BufferUsage: globals.GPUBufferUsage, MapMode: globals.GPUMapMode, ShaderStage: globals.GPUShaderStage };
  })();
  // A failed load is not cached, so a later call (after fixing the install) can retry.
  loading.catch(() => { loading = null; });
  return loading;
}
