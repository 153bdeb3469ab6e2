// Ambient state that checkpoint() must replay during recomputation besides the
// random generator (e.g. the autocast region). Layers above autograd register
// a provider, so autograd never imports them.

export interface CheckpointStateProvider {
  readonly name: string;
  /** Captures the state in effect when the checkpointed forward runs. */
  capture(): unknown;
  /** Re-enters a captured state; returns the function that restores the previous one. */
  enter(state: unknown): () => void;
}

const providers: CheckpointStateProvider[] = [];

export function registerCheckpointState(provider: CheckpointStateProvider): void {
  if (!providers.some((p) => p.name === provider.name)) providers.push(provider);
}

export function captureCheckpointState(): unknown[] {
  return providers.map((p) => p.capture());
}

/** Enters every captured state; returns one function restoring them all (in reverse). */
export function enterCheckpointState(states: unknown[]): () => void {
  const exits = providers.map((p, i) => p.enter(states[i]));
  return () => { for (const exit of exits.reverse()) exit(); };
}
