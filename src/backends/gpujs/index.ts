// The gpu.js backend's entry points: `createBackend('gpujs[:mode]')` from the
// registry lands in createGpuJsBackendFromVariant; probeGpuJs is the doctor's
// view (which modes work here, why the others do not, what auto picks).
// Variants: [] or ['auto'] (best working mode), ['webgpu'], ['webasm']
// (optionally ['webasm', 'threads' | 'nothreads']), ['cpu'].

import type { Backend } from '../backend.js';
import { GpuJsBackend } from './gpujs-backend.js';
import { autoOrder, autoReason, GPUJS_MODES, probeMode, selfCheck, startMode, type GpuJsBackendOptions, type GpuJsMode, type ModeProbe } from './modes.js';

export { GpuJsBackend, type GpuJsStats } from './gpujs-backend.js';
export { GPUJS_MODES, type GpuJsBackendOptions, type GpuJsMode, type ModeProbe } from './modes.js';

/** Creates a gpu.js backend in `options.mode`, or in the best mode that works here (`auto`). */
export async function createGpuJsBackend(options: GpuJsBackendOptions = {}): Promise<GpuJsBackend> {
  const mode = options.mode ?? 'auto';
  if (mode !== 'auto') {
    if (!(GPUJS_MODES as readonly string[]).includes(mode)) throw new Error(`gpujs backend: unknown mode '${mode}'; expected auto, ${GPUJS_MODES.join(', ')}`);
    const { backend } = await startMode(mode, options);
    try {
      await selfCheck(backend);
    } catch (error) {
      backend.destroy();
      throw new Error(`gpujs backend: mode ${mode} started but failed its self-check: ${(error as Error).message}`, { cause: error });
    }
    return backend;
  }
  const { backend, reason } = await chooseAuto(options);
  backend.noteFeature(`auto: ${reason}`);
  return backend;
}

async function chooseAuto(options: GpuJsBackendOptions): Promise<{ backend: GpuJsBackend; reason: string }> {
  const rejected: string[] = [];
  // Start webgpu first: whether its adapter is a GPU or a software one decides the order.
  let webgpu: GpuJsBackend | null = null;
  let software = false;
  try {
    const made = await startMode('webgpu', options);
    webgpu = made.backend;
    software = made.details.softwareAdapter === true;
    await selfCheck(webgpu);
  } catch (error) {
    webgpu?.destroy();
    webgpu = null;
    rejected.push(`webgpu: ${(error as Error).message}`);
  }
  const noted = (mode: GpuJsMode) => `chose ${mode}: ${autoReason(mode, webgpu !== null, software)}${rejected.length ? `; ${rejected.join('; ')}` : ''}`;
  for (const mode of autoOrder(software)) {
    if (mode === 'webgpu') {
      if (webgpu) return { backend: webgpu, reason: noted('webgpu') };
      continue;
    }
    try {
      const { backend } = await startMode(mode, options);
      try {
        await selfCheck(backend);
      } catch (error) {
        backend.destroy();
        throw error;
      }
      const reason = noted(mode);
      webgpu?.destroy();
      return { backend, reason };
    } catch (error) {
      rejected.push(`${mode}: ${(error as Error).message}`);
    }
  }
  throw new Error(`gpujs backend: no gpu.js mode works here: ${rejected.join('; ')}`);
}

/** The registry's entry: `gpujs`, `gpujs:auto`, `gpujs:webgpu`, `gpujs:webasm[:threads|:nothreads]`, `gpujs:cpu`. */
export async function createGpuJsBackendFromVariant(variant: readonly string[]): Promise<Backend> {
  const [mode = 'auto', option, ...rest] = variant;
  const spec = ['gpujs', ...variant].join(':');
  if (mode !== 'auto' && !(GPUJS_MODES as readonly string[]).includes(mode)) {
    throw new Error(`backend '${spec}': unknown gpu.js mode '${mode}'; expected gpujs, gpujs:auto, ${GPUJS_MODES.map((m) => `gpujs:${m}`).join(', ')}`);
  }
  if (rest.length > 0 || (option !== undefined && !(mode === 'webasm' && (option === 'threads' || option === 'nothreads')))) {
    throw new Error(`backend '${spec}': unexpected option '${[option, ...rest].join(':')}'; only gpujs:webasm takes one (threads or nothreads)`);
  }
  const threads = option === undefined ? undefined : option === 'threads';
  return createGpuJsBackend({ mode: mode as GpuJsMode | 'auto', threads });
}

export interface GpuJsDoctorReport {
  readonly modes: readonly ModeProbe[];
  /** The mode `gpujs` (auto) would choose here, and why; null when none works. */
  readonly auto: { readonly mode: GpuJsMode; readonly reason: string } | null;
}

/** For `gradlab doctor`: which gpu.js modes work here (each started and self-checked), and what auto picks. */
export async function probeGpuJs(options: Omit<GpuJsBackendOptions, 'mode'> = {}): Promise<GpuJsDoctorReport> {
  const modes: ModeProbe[] = [];
  for (const mode of GPUJS_MODES) modes.push(await probeMode(mode, options));
  const byMode = new Map(modes.map((p) => [p.mode, p]));
  const software = byMode.get('webgpu')?.softwareAdapter === true;
  const pick = autoOrder(software).find((m) => byMode.get(m)?.available);
  if (!pick) return { modes, auto: null };
  const reason = autoReason(pick, byMode.get('webgpu')?.available === true, software);
  return { modes, auto: { mode: pick, reason } };
}
