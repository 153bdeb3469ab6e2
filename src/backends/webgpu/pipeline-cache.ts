// Compiled pipelines cached by program key, and bind-group/pipeline layouts
// cached by binding signature (which bindings are read-only, which writable),
// so the same layout object is shared by every program with that signature.

import type { DawnModule } from './dawn.js';
import type { Program } from './program.js';

export interface CachedPipeline {
  readonly program: Program;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroupLayout: GPUBindGroupLayout;
}

export interface PipelineCacheStats {
  readonly pipelines: number;
  readonly layouts: number;
  readonly hits: number;
  readonly misses: number;
  /** Host time spent creating pipelines (the driver may compile lazily at first dispatch). */
  readonly createMs: number;
}

export class PipelineCache {
  private readonly pipelines = new Map<string, CachedPipeline>();
  private readonly layouts = new Map<string, { bindGroupLayout: GPUBindGroupLayout; pipelineLayout: GPUPipelineLayout }>();
  private hits = 0;
  private misses = 0;
  private createMs = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly dawn: DawnModule,
    /** Called (asynchronously) when a program fails to compile. */
    private readonly onError: (program: Program, message: string) => void,
  ) {}

  get(key: string, build: () => Program): CachedPipeline {
    const cached = this.pipelines.get(key);
    if (cached) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const started = performance.now();
    const program = build();
    if (program.key !== key) throw new Error(`webgpu backend: program built for key '${key}' reports key '${program.key}'`);
    const layout = this.layoutFor(program);
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: program.code, label: program.label });
    const pipeline = this.device.createComputePipeline({
      layout: layout.pipelineLayout,
      compute: { module, entryPoint: 'main' },
      label: program.label,
    });
    this.device.popErrorScope().then(
      (error) => { if (error) this.onError(program, error.message); },
      () => { /* the device was lost; that is reported on its own */ },
    );
    const entry = { program, pipeline, bindGroupLayout: layout.bindGroupLayout };
    this.pipelines.set(key, entry);
    this.createMs += performance.now() - started;
    return entry;
  }

  private layoutFor(program: Program) {
    const signature = program.bindings.map((b) => (b.access === 'read' ? 'r' : 'w')).join('');
    let layout = this.layouts.get(signature);
    if (!layout) {
      const visibility = this.dawn.ShaderStage.COMPUTE;
      // The params block is bound at a dynamic offset, so one bind group serves every dispatch
      // on the same buffers (see bind-group-cache.ts).
      const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility, buffer: { type: 'uniform', hasDynamicOffset: true } }];
      program.bindings.forEach((b, i) => {
        entries.push({ binding: i + 1, visibility, buffer: { type: b.access === 'read' ? 'read-only-storage' : 'storage' } });
      });
      const bindGroupLayout = this.device.createBindGroupLayout({ entries, label: `layout ${signature}` });
      const pipelineLayout = this.device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout] });
      this.layouts.set(signature, (layout = { bindGroupLayout, pipelineLayout }));
    }
    return layout;
  }

  stats(): PipelineCacheStats {
    return { pipelines: this.pipelines.size, layouts: this.layouts.size, hits: this.hits, misses: this.misses, createMs: this.createMs };
  }
}
