import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Contract and end-to-end tests each start their own anvil; two cores, so keep it modest.
    maxWorkers: 2,
    // In CI, a test that fails is run once more before the run fails: the end-to-end tests start real
    // processes on a shared 2-core machine, and one start-up was once seen to stall there. A test that
    // fails twice still fails the run; each retry shows in the output.
    retry: process.env.CI ? 1 : 0,
    minWorkers: 1,
  },
});
