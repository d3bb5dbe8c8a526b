import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { recordResult } from '../../bench/src/bench-report.js'
import { operatorBench } from './operator-bench.js'
import { unprofiledPhase } from '../../bench/src/bench-profiler.js'

const JSON_PATH = fileURLToPath(new URL('../../bench-results/operator.json', import.meta.url))
const REPORT_PATH = fileURLToPath(new URL('../../docs/BENCHMARKS.md', import.meta.url))

/**
 * The operator benchmark at full size (`npm run bench:operator`, vitest.bench.config.ts): it needs
 * the test control plane, so it runs here rather than in `npm run bench:anchors`. It reports; it gates nothing.
 */
describe('operator benchmark', () => {
  it('runs at full size and records the result', async () => {
    const result = await operatorBench({ smoke: false, progress: message => { process.stderr.write(`  operator: ${message}\n`) }, phase: unprofiledPhase })
    process.stdout.write(`${result.name}: ${result.summary}\n`)
    await recordResult(result, JSON_PATH, REPORT_PATH)
    expect(result.name).toBe('operator')
  })
})
