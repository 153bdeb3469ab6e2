// Which backend new tensors go to. Each backend instance gets one DeviceContext
// (its own ledger and work counter); tensors remember theirs, and ops refuse
// to mix tensors from different backends.

import type { Backend } from '../backends/backend.js';
import { CpuBackend } from '../backends/cpu/cpu-backend.js';
import { DeviceContext } from './device-context.js';

const contexts = new Map<Backend, DeviceContext>();
let current: DeviceContext | null = null;

export function contextFor(backend: Backend): DeviceContext {
  let ctx = contexts.get(backend);
  if (!ctx) contexts.set(backend, (ctx = new DeviceContext(backend)));
  return ctx;
}

/** Makes `backend` the target of new tensors; returns its context. */
export function useBackend(backend: Backend): DeviceContext {
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
  const previous = current;
  current = contextFor(backend);
  try {
    return fn();
  } finally {
    current = previous;
  }
}
