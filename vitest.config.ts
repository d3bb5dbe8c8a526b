import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // Tests start real processes (anchors, nats-server): keep them apart and give them room.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    projects: [
      // Unit tests start no process and share no state: one worker per core, not one per file,
      // takes the unit layer from ~50 s (loading libp2p ~70 times) to ~15 s.
      { extends: true, test: { name: 'unit', include: ['*/src/**/*.test.ts'], isolate: false } },
      { extends: true, test: { name: 'e2e', include: ['test/**/*.test.ts'] } }
    ]
  }
})
