import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: CI's 2 cores run two test files at once, and the fine-tuning tests train real models.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Backends that hold a GPU device do better in separate processes than threads.
    pool: 'forks',
  },
});
