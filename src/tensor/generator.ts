// The global random generator: a Philox4x32-10 key (the seed) and a word
// offset. Each draw takes a fresh range of words and advances the offset by a
// multiple of 4 (one Philox block), so every backend draws the same numbers
// and `checkpoint()` can replay a region by restoring (seed, offset).

export interface GeneratorState {
  readonly seed: number;
  readonly offset: number;
}

let seed = 0;
let offset = 0;

export function manualSeed(value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`manualSeed: seed must be a non-negative safe integer, got ${value}`);
  seed = value;
  offset = 0;
}

export function getGeneratorState(): GeneratorState {
  return { seed, offset };
}

export function setGeneratorState(state: GeneratorState): void {
  seed = state.seed;
  offset = state.offset;
}

/** Reserves `words` random words and returns where they start. */
export function takeRandomWords(words: number): GeneratorState {
  const start = { seed, offset };
  offset += Math.ceil(words / 4) * 4;
  return start;
}
