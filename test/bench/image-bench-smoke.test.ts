import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { imageBench } from './image-bench.js'
import { unprofiledPhase } from '../../bench/src/bench-profiler.js'

const podman = (() => { try { execFileSync('podman', ['--version']); return true } catch { return false } })()

/** The image benchmark at tiny sizes (one start, 20 peers in the 1 GiB container): it still works. */
describe('the image benchmark in smoke mode', () => {
  it.skipIf(!podman)('measures sizes, start times and a small capacity run in a 1 GiB container (needs podman)', { timeout: 900_000 }, async () => {
    const result = await imageBench({ smoke: true, progress: () => {}, phase: unprofiledPhase })
    expect(result.name).toBe('image')
    expect(result.metrics.appImageMiB).toBeGreaterThan(result.metrics.baseImageMiB ?? 0)
    expect(result.metrics.containerStartToHealthyMsP50).toBeGreaterThan(0)
    expect(result.metrics.containerPeersHeld).toBe(20)
    expect(result.metrics.containerOomKills).toBe(0)
    expect(result.metrics.containerStillRunning).toBe(1)
  })
})
