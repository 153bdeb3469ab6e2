// Where the program is, for the memory timeline: the module whose forward is
// running, the differentiable op (or named region) being applied, and the
// kernel op that is allocating. Upper layers (nn, autograd, train) push and
// pop these; the tensor layer only stores strings, so it never imports them.
// Nothing is pushed unless a timeline is recording: with recording off every
// push site costs one boolean check.

let recorders = 0;
const moduleStack: (string | null)[] = [];
const opStack: (string | null)[] = [];
let kernelOp: string | null = null;

export interface MemoryContext {
  /** Dotted module path (`layers.0.attention.wq`), the root module's class name, or null outside any module. */
  readonly module: string | null;
  /** The differentiable op or named region (`matmul`, `optimizer.step`), or null. */
  readonly op: string | null;
  /** The kernel op most recently entered (`fill`, `cast`, `contiguous`), or null. */
  readonly kernel: string | null;
}

/** True while at least one memory timeline records; push sites check this first. */
export function isMemoryContextActive(): boolean {
  return recorders > 0;
}

/** Called by the recorder on start/stop. */
export function setMemoryContextRecording(on: boolean): void {
  recorders += on ? 1 : -1;
  if (recorders < 0) throw new Error('memory context: recording stopped more often than it was started');
  if (recorders === 0) kernelOp = null;
}

function within<T>(stack: (string | null)[], value: string | null, fn: () => T): T {
  stack.push(value);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}

/** Runs fn attributed to module `path` (null: explicitly no module, e.g. a backward node made outside any module). */
export function withModuleContext<T>(path: string | null, fn: () => T): T {
  return recorders > 0 ? within(moduleStack, path, fn) : fn();
}

/** Runs fn attributed to op or region `name`; the kernel label starts and ends empty so it never leaks across ops. */
export function withOpContext<T>(name: string | null, fn: () => T): T {
  if (recorders === 0) return fn();
  kernelOp = null;
  try {
    return within(opStack, name, fn);
  } finally {
    kernelOp = null;
  }
}

/**
 * Notes the kernel op about to allocate its outputs: kernel-ops' entry points
 * name themselves, and allocations up to the next note (composite scratch
 * included) are labelled with it.
 */
export function noteKernelOp(name: string): void {
  if (recorders > 0) kernelOp = name;
}

/** The innermost module and op now, and the kernel op allocating. */
export function currentMemoryContext(): MemoryContext {
  return {
    module: moduleStack.length > 0 ? moduleStack[moduleStack.length - 1] : null,
    op: opStack.length > 0 ? opStack[opStack.length - 1] : null,
    kernel: kernelOp,
  };
}

/** The innermost module path (what a GradNode remembers for its backward). */
export function currentModulePath(): string | null {
  return moduleStack.length > 0 ? moduleStack[moduleStack.length - 1] : null;
}
