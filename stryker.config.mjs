// StrykerJS mutation testing: `npm run mutate` (not part of CI; minutes to
// hours). It mutates the code whose bugs the suite must catch (the autograd
// ops, the CPU fused kernels, the memory ledger, the weight files) and runs
// the CPU-only tests that cover them (vitest.mutate.config.ts); then
// scripts/mutation-summary.ts writes the score per folder to bench/results.
// Narrow a run with `npm run mutate -- --mutate src/tensor/memory-ledger.ts`;
// scripts/mutate-by-folder.sh runs one folder at a time, so each finished
// folder's report survives an interrupted run.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    'src/autograd/ops/**/*.ts',
    'src/backends/cpu/fused.ts',
    'src/tensor/memory-ledger.ts',
    'src/train/weights/safetensors-*.ts',
    'src/train/weights/llama2c.ts',
    'src/train/weights/host-dtypes.ts',
  ],
  coverageAnalysis: 'perTest',
  // Static mutants (module-level constants, evaluated once at import) need every
  // test rerun per mutant: hours on this suite. They are reported as Ignored.
  ignoreStatic: true,
  // The machine is shared: one test process by default (STRYKER_CONCURRENCY to change).
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 1),
  // Added to each test's own time: a mutant that loops forever costs this much.
  timeoutMS: 15_000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: process.env.STRYKER_JSON_REPORT ?? 'bench/results/tmp/mutation/mutation.json' },
  tempDirName: '.scratch/stryker-tmp',
  cleanTempDir: true,
  thresholds: { high: 80, low: 60, break: null },
};
