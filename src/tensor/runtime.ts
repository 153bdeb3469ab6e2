// Which backend new tensors go to. Each backend instance gets one DeviceContext
// (its own ledger and work counter); tensors remember theirs, and ops refuse
// to mix tensors from different backends.

import type { Backend } from '../backends/backend.js';
import { CpuBackend } from '../backends/cpu/cpu-backend.js';
import { DeviceContext } from './device-context.js';

const contexts = new Map<Backend, DeviceContext>();
let current: DeviceContext | null = null;

/** A backend object has the interface's shape; anything else (undefined, a spec string, a Promise) is named. */
function assertBackend(backend: unknown, where: string): asserts backend is Backend {
  const b = backend as Partial<Backend> | null | undefined;
  if (b && typeof b === 'object' && typeof b.alloc === 'function' && typeof b.name === 'string' && b.capabilities) return;
  const got = backend === undefined ? 'undefined' : backend === null ? 'null'
    : typeof backend === 'string' ? `the string '${backend}'`
      : backend instanceof Promise ? 'a Promise (await createBackend(...) first)' : `a ${typeof backend}`;
  const hint = typeof backend === 'string' ? `; create it first: ${where}(await createBackend('${backend}'))` : `; pass a backend, e.g. ${where}(await createBackend('cpu'))`;
  throw new TypeError(`${where}: expected a Backend, got ${got}${hint}`);
}

export function contextFor(backend: Backend): DeviceContext {
  assertBackend(backend, 'contextFor');
  let ctx = contexts.get(backend);
  if (!ctx) contexts.set(backend, (ctx = new DeviceContext(backend)));
  return ctx;
}

/** Makes `backend` the target of new tensors; returns its context. */
export function useBackend(backend: Backend): DeviceContext {
  assertBackend(backend, 'useBackend');
  current = contextFor(backend);
  return current;
}

/** The current context, starting on the CPU reference backend. */
export function currentContext(): DeviceContext {
  if (!current) current = contextFor(new CpuBackend());
  return current;
}

export function currentBackend(): Backend {
  return currentContext().backend;
}

/** Runs fn with `backend` current, restoring the previous one afterwards (sync fns only). */
export function withBackend<T>(backend: Backend, fn: () => T): T {
  assertBackend(backend, 'withBackend');
  const previous = current;
  current = contextFor(backend);
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/**
 * Drops gradlab's context for a backend that is being destroyed (its ledger
 * and work counter go with it); if it was current, `previous` (or the CPU
 * reference on next use) becomes current again.
 */
export function forgetBackend(backend: Backend, previous: Backend | null = null): void {
  const ctx = contexts.get(backend);
  contexts.delete(backend);
  if (current === ctx) current = previous && previous !== backend ? contextFor(previous) : null;
}

/** The current backend if one was chosen, without creating the CPU default. */
export function currentBackendIfAny(): Backend | null {
  return current?.backend ?? null;
}
