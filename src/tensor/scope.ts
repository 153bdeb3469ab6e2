// Deterministic lifetimes: every Tensor handle belongs to the innermost open
// `tidy` scope, which disposes what was created inside it except what it
// returns or what was `keep()`-ed. Handles created outside any scope live
// until `dispose()`.

export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const stack: Set<Disposable>[] = [];

export function trackInScope(handle: Disposable): void {
  stack[stack.length - 1]?.add(handle);
}

export function untrack(handle: Disposable): void {
  for (const scope of stack) scope.delete(handle);
}

/** Collects every Disposable inside a (nested) return value. */
function collectResults(value: unknown, into: Set<Disposable>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if ('dispose' in value && 'isDisposed' in value) { into.add(value as Disposable); return; }
  if (Array.isArray(value)) { for (const v of value) collectResults(v, into, seen); return; }
  if (value instanceof Map) { for (const v of value.values()) collectResults(v, into, seen); return; }
  if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collectResults(v, into, seen);
}

/**
 * Runs fn in a new scope. Tensors created inside are disposed at the end unless
 * returned (anywhere in an array, Map or plain object result) or kept; returned
 * tensors move to the enclosing scope. fn must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    stack.pop();
    for (const h of scope) if (!h.isDisposed) h.dispose();
    throw err;
  }
  stack.pop();
  if (result instanceof Promise) {
    // What the async function made before its first await would otherwise leak; the rest of it runs
    // outside any scope, and its eventual rejection is expected (its inputs are gone), so it is not left unhandled.
    for (const h of scope) if (!h.isDisposed) h.dispose();
    result.catch(() => {});
    throw new Error('tidy: the function returned a Promise; tidy scopes are synchronous (await outside, or dispose() by hand)');
  }
  const keepers = new Set<Disposable>();
  collectResults(result, keepers);
  for (const h of scope) {
    if (keepers.has(h)) trackInScope(h);
    else if (!h.isDisposed) h.dispose();
  }
  return result;
}

/** Takes a handle out of every scope so it survives them; it then lives until dispose(). */
export function keep<T extends Disposable>(handle: T): T {
  untrack(handle);
  return handle;
}

export function dispose(value: unknown): void {
  const all = new Set<Disposable>();
  collectResults(value, all);
  for (const h of all) if (!h.isDisposed) h.dispose();
}

export function scopeDepth(): number {
  return stack.length;
}
