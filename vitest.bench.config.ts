import { defineConfig } from 'vitest/config'

/**
 * Benchmarks that need the test control plane (`npm run bench:operator`) or the NAT lab's network
 * namespaces (`npm run bench:nat`): only `*.run.ts`,
 * which the default config's `*.test.ts` patterns leave out. They report; they gate nothing.
 */
export default defineConfig({
  test: {
    include: ['test/bench/**/*.run.ts', 'test/nat/**/*.run.ts'],
    pool: 'forks',
    testTimeout: 120 * 60_000,
    hookTimeout: 5 * 60_000,
    teardownTimeout: 60_000
  }
})
