// Grad mode: whether ops record themselves on the tape.

let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

function withGradMode<T>(value: boolean, fn: () => T): T {
  const previous = enabled;
  enabled = value;
  try {
    return fn();
  } finally {
    enabled = previous;
  }
}

/** Runs fn without recording ops (like torch.no_grad). Synchronous fns only. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs fn with recording on, e.g. inside a noGrad region (like torch.enable_grad). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
