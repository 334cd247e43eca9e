import { defineConfig } from 'vitest/config';

// Tests import the compiled package from dist/ (npm test builds first): worker threads and
// child processes load compiled JS, so the tests exercise exactly what users run.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
