// The tests StrykerJS runs against each mutant: CPU-only suites that cover the
// mutated folders (GPU suites would only slow every mutant down; the CPU
// reference is the oracle they are compared with anyway).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/autograd/**/*.test.ts',
      'test/tensor/**/*.test.ts',
      'test/backends/cpu-conformance.test.ts',
      'test/nn/llama-goldens-cpu.test.ts',
      'test/nn/gradcheck-modules.test.ts',
      'test/nn/checkpointing.test.ts',
      'test/nn/saved-activations.test.ts',
      'test/nn/lora.test.ts',
      'test/nn/module-state-dict.test.ts',
      'test/nn/rotary-attention.test.ts',
      'test/weights/safetensors-*.test.ts',
      'test/weights/llama2c-import.test.ts',
      'test/hardening/misuse-errors.test.ts',
      'test/hardening/safetensors-unicode.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
