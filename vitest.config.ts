import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Contract and end-to-end tests each start their own anvil; two cores, so keep it modest.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
