/// <reference types="@webgpu/types" />
// Loads Dawn's Node bindings (npm `webgpu`) on first use, so importing the
// backend module costs nothing until a WebGPU backend is actually created.

export interface DawnModule {
  /** Dawn's `create(flags)`: one GPU instance per flag set (e.g. ['backend=vulkan']). */
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
    return { create: mod.create, BufferUsage: globals.GPUBufferUsage, MapMode: globals.GPUMapMode, ShaderStage: globals.GPUShaderStage };
  })();
  // A failed load is not cached, so a later call (after fixing the install) can retry.
  loading.catch(() => { loading = null; });
  return loading;
}
