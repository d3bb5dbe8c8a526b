import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { unprofiledPhase } from '../../bench/src/bench-profiler.js'
import { recordResult } from '../../bench/src/bench-report.js'
import { natLabUnavailable } from './nat-lab.js'
import { natTraversal } from './nat-bench.js'

const JSON_PATH = fileURLToPath(new URL('../../bench-results/nat-traversal.json', import.meta.url))
const REPORT_PATH = fileURLToPath(new URL('../../docs/BENCHMARKS.md', import.meta.url))
const unavailable = await natLabUnavailable()

/**
 * The NAT traversal benchmark at full size (`npm run bench:nat`): it needs root for the lab's
 * network namespaces, so it runs here rather than in `meganet bench`. It reports; it gates nothing.
 */
describe('NAT traversal benchmark', () => {
  it.skipIf(unavailable != null)(`runs at full size and records the result${unavailable != null ? ` (skipped: ${unavailable})` : ''}`, async () => {
    const smoke = process.env.MEGANET_BENCH_SMOKE === '1'
    // Recorded after every kind, so a run cut short still leaves what it measured.
    const record = async (partial: Awaited<ReturnType<typeof natTraversal>>): Promise<void> => { if (!smoke) await recordResult(partial, JSON_PATH, REPORT_PATH) }
    const result = await natTraversal({ smoke, progress: message => { process.stderr.write(`  nat-traversal: ${message}\n`) }, phase: unprofiledPhase }, record)
    process.stdout.write(`${result.name}: ${result.summary}\n`)
    expect(result.name).toBe('nat-traversal')
  })
})
