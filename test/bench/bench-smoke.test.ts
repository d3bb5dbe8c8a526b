import { describe, expect, it } from 'vitest'
import { BENCHMARKS } from '../../bench/src/benchmarks.js'

/** Benchmarks report, they do not gate: this only keeps each one working (tiny sizes). */
describe('benchmarks in smoke mode', () => {
  for (const bench of BENCHMARKS) {
    it(`${bench.name} runs and reports positive numbers`, async () => {
      const result = await bench.run({ smoke: true, progress: () => {} })
      expect(result.name).toBe(bench.name)
      expect(Object.keys(result.metrics).length).toBeGreaterThan(0)
      for (const [key, value] of Object.entries(result.metrics)) {
        expect(Number.isFinite(value), key).toBe(true)
        expect(value, key).toBeGreaterThan(0)
      }
    })
  }
})
