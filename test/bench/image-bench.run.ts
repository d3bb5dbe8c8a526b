import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { recordResult } from '../../bench/src/bench-report.js'
import { imageBench } from './image-bench.js'
import { unprofiledPhase } from '../../bench/src/bench-profiler.js'

const JSON_PATH = fileURLToPath(new URL('../../bench-results/image.json', import.meta.url))
const REPORT_PATH = fileURLToPath(new URL('../../docs/BENCHMARKS.md', import.meta.url))

/**
 * The image benchmark (`npm run bench:images`): sizes, start time and capacity in a 1 GiB
 * container. It needs podman and the images test/images/build-images.sh builds. It reports; it gates nothing.
 */
describe('image benchmark', () => {
  it('runs at full size and records the result', async () => {
    const result = await imageBench({ smoke: false, progress: message => { process.stderr.write(`  image: ${message}\n`) }, phase: unprofiledPhase })
    process.stdout.write(`${result.name}: ${result.summary}\n`)
    await recordResult(result, JSON_PATH, REPORT_PATH)
    expect(result.name).toBe('image')
  })
})
