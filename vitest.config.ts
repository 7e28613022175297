import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Each scoring test starts its own worker pool; running files in parallel on a
    // 2-core machine only makes them compete for the same cores.
    fileParallelism: false,
  },
});
