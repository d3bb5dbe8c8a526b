import { describe, expect, it } from 'vitest'
import { unprofiledPhase } from '../../bench/src/bench-profiler.js'
import { BENCHMARKS } from '../../bench/src/benchmarks.js'

/**
 * Differences between two samples (memory per peer, CPU of a page minus a blank page): at smoke
 * sizes a garbage collection or a quiet second can make them zero or below, which says nothing
 * about the code. Every other number must be positive or zero.
 */
const NOISY_DIFFERENCES = new Set(['anchorHeapKiBPerPeer', 'anchorRssKiBPerPeer'])

/** Benchmarks report, they do not gate: this only keeps each one working (tiny sizes). */
describe('benchmarks in smoke mode', () => {
  for (const bench of BENCHMARKS) {
    it(`${bench.name} runs and reports finite numbers`, async () => {
      const result = await bench.run({ smoke: true, progress: () => {}, phase: unprofiledPhase })
      expect(result.name).toBe(bench.name)
      expect(result.summary.length).toBeGreaterThan(0)
      expect(Object.keys(result.metrics).length).toBeGreaterThan(0)
      for (const [key, value] of Object.entries(result.metrics)) {
        expect(Number.isFinite(value), key).toBe(true)
        if (!NOISY_DIFFERENCES.has(key)) expect(value, key).toBeGreaterThanOrEqual(0)
      }
      expect(Object.values(result.metrics).some(v => v > 0)).toBe(true)
      // A storm whose peers never came back is a broken load generator, not a slow anchor.
      if ('notRejoinedPeers' in result.metrics) expect(result.metrics, 'every storm peer reserved again').toMatchObject({ notRejoinedPeers: 0 })
    }, 240_000) // the abuse benchmark starts a fleet and five kinds of attacker, even when small
  }
})
