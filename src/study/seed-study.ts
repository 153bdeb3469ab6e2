// The seed study's reported figures, as data (SEMANTICS.md, "The seed's
// measured tables"): LLaMA-2-7B cut to 1, 8 or 32 layers, batch 1, Alpaca
// records up to 512 tokens, 200 samples, one A100. The seed printed
// torch.cuda.max_memory_allocated() / 1000 under the label "MBytes": the
// values are kilobytes, so its 3.13e7 is 31.3 GB (decimal). The figures are
// kept here in bytes, already corrected.

export const SEED_GPU = 'A100';

export interface SeedCell {
  readonly layers: 8 | 32;
  readonly accumulation: boolean;
  readonly mixedPrecision: boolean;
  readonly lora: boolean;
  /** null: the seed reports the run out of memory. */
  readonly peakBytes: number | null;
  readonly runtimeSeconds: number | null;
}

const GB = 1e9;

/** Every cell the seed reports. The seed did not checkpoint (SEMANTICS.md: its MP+LoRA rise fits unsegmented autocast copies). */
export const SEED_CELLS: readonly SeedCell[] = [
  { layers: 32, accumulation: false, mixedPrecision: false, lora: true, peakBytes: 31.3 * GB, runtimeSeconds: 256.8 },
  { layers: 32, accumulation: false, mixedPrecision: true, lora: true, peakBytes: 43.4 * GB, runtimeSeconds: 90.9 },
  { layers: 32, accumulation: true, mixedPrecision: false, lora: true, peakBytes: 31.3 * GB, runtimeSeconds: 253.9 },
  { layers: 32, accumulation: true, mixedPrecision: true, lora: true, peakBytes: 43.4 * GB, runtimeSeconds: 90.6 },
  // "Without LoRA, 32 layers ran out of memory in every combination."
  { layers: 32, accumulation: false, mixedPrecision: false, lora: false, peakBytes: null, runtimeSeconds: null },
  { layers: 32, accumulation: false, mixedPrecision: true, lora: false, peakBytes: null, runtimeSeconds: null },
  { layers: 32, accumulation: true, mixedPrecision: false, lora: false, peakBytes: null, runtimeSeconds: null },
  { layers: 32, accumulation: true, mixedPrecision: true, lora: false, peakBytes: null, runtimeSeconds: null },
  { layers: 8, accumulation: false, mixedPrecision: false, lora: false, peakBytes: 37.7 * GB, runtimeSeconds: 214.7 },
  { layers: 8, accumulation: false, mixedPrecision: true, lora: false, peakBytes: 20.2 * GB, runtimeSeconds: 68.4 },
  { layers: 8, accumulation: true, mixedPrecision: false, lora: false, peakBytes: 37.7 * GB, runtimeSeconds: 126.0 },
  { layers: 8, accumulation: true, mixedPrecision: true, lora: false, peakBytes: 20.2 * GB, runtimeSeconds: 56.5 },
];

/** The seed's settings, for predicting its cells with the memory model. */
export const SEED_SETTINGS = { preset: '7b', batchSize: 1, seqLen: 512, accumulate: 8, lora: { r: 16, alpha: 32, dropout: 0.05, targets: ['wq', 'wv'] } } as const;

/** The seed's printed value (labelled MBytes) for a peak: bytes / 1000, i.e. kilobytes. */
export const seedPrintedValue = (peakBytes: number): number => peakBytes / 1000;

export function findSeedCell(layers: number, accumulation: boolean, mixedPrecision: boolean, lora: boolean): SeedCell | null {
  return SEED_CELLS.find((c) => c.layers === layers && c.accumulation === accumulation && c.mixedPrecision === mixedPrecision && c.lora === lora) ?? null;
}

/**
 * Table 1's claims, as the categories each technique is said to lower. Only
 * the LoRA row is on record from the seed (SEMANTICS.md: it credited LoRA
 * with lowering parameter memory); the other rows hold the usual textbook
 * claims, marked as such, so the measured table can be held against them.
 */
export interface TechniqueClaim {
  readonly technique: 'accumulation' | 'checkpointing' | 'mixedPrecision' | 'lora';
  readonly lowers: readonly ('parameters' | 'gradients' | 'optimizerState' | 'activations')[];
  readonly source: 'seed' | 'usual claim';
}

export const TABLE_1_CLAIMS: readonly TechniqueClaim[] = [
  { technique: 'accumulation', lowers: ['activations'], source: 'usual claim' },
  { technique: 'checkpointing', lowers: ['activations'], source: 'usual claim' },
  { technique: 'mixedPrecision', lowers: ['activations', 'parameters'], source: 'usual claim' },
  { technique: 'lora', lowers: ['parameters'], source: 'seed' },
];
