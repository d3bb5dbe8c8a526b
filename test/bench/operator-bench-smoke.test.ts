import { describe, expect, it } from 'vitest'
import { METRICS_THAT_MAY_BE_ZERO, operatorBench } from './operator-bench.js'
import { unprofiledPhase } from '../../bench/src/bench-profiler.js'

/** The operator benchmark at tiny sizes (2 fleets × 2 anchors, scale 1 → 3): it still works. */
describe('the operator benchmark in smoke mode', () => {
  it('runs and reports finite numbers, positive except where 0 is an honest answer', { timeout: 120_000 }, async () => {
    const result = await operatorBench({ smoke: true, progress: () => {}, phase: unprofiledPhase })
    expect(result.name).toBe('operator')
    for (const [key, value] of Object.entries(result.metrics)) {
      expect(Number.isFinite(value), key).toBe(true)
      if (METRICS_THAT_MAY_BE_ZERO.has(key)) expect(value, key).toBeGreaterThanOrEqual(0)
      else expect(value, key).toBeGreaterThan(0)
    }
  })
})
