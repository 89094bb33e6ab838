import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // SEAL contexts and PGlite are heavy; two cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
    // Budgets, not expectations: a cluster's setup takes 10–20 s on a quiet machine and timed out at
    // 60 s with the load average at 10–13 (CI shares these two cores with other work).
    testTimeout: 180_000,
    hookTimeout: 240_000,
  },
});
