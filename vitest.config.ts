import { defineConfig } from 'vitest/config'

// Test files that need the Kubernetes binaries, helm or the container images: the slowest part of a
// cold CI run to build. They form a project of their own that runs last (`npm test`), so that the
// unit and e2e layers run while .ci/run builds these. `npm test` runs it two files at a time
// (--maxWorkers=2; the default on two cores is one): they mostly wait on the control plane and
// pods, and took 299 s so against 628 s one at a time (warm, idle machine, 2026-12-06).
const CLUSTER = [
  'test/cluster/**/*.test.ts',
  'test/chart/**/*.test.ts',
  'test/operator/**/*.test.ts',
  'test/bench/image-bench-smoke.test.ts',
  'test/bench/operator-bench-smoke.test.ts'
]

export default defineConfig({
  test: {
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // Tests start real processes (anchors, nats-server): keep them apart and give them room.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    projects: [
      // Unit tests share no state and start no long-lived process (a few run a short child, e.g.
      // to watch V8's collector from its start): one worker per core, not one per file,
      // takes the unit layer from ~50 s (loading libp2p ~70 times) to ~15 s.
      { extends: true, test: { name: 'unit', include: ['*/src/**/*.test.ts'], isolate: false } },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/**/*.test.ts'], exclude: CLUSTER, globalSetup: ['test/setup/temp-root.ts', 'test/setup/e2e-tools.ts'] }
      },
      { extends: true, test: { name: 'cluster', include: CLUSTER, globalSetup: ['test/setup/temp-root.ts', 'test/setup/cluster-tools.ts'] } }
    ]
  }
})
