import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { FUZZ_TARGETS } from './fuzz-targets.js'

/**
 * Every decoder and parser that reads what others send (store and JSON frames, NATS payloads,
 * signed records, bootstrap lists, config files, links, addresses) fed hostile input. It must
 * never crash (only its documented, typed errors), never accept what it must refuse, and keep
 * no memory: the heap after a target is within a bound of the heap before.
 *
 * `npm test` runs a short pass; `npm run fuzz` sets MEGANET_FUZZ_RUNS=100000 per target.
 * MEGANET_FUZZ_SEED replays a run (fast-check prints the seed and path of any failure).
 */
const RUNS = Number(process.env.MEGANET_FUZZ_RUNS ?? 300)
const SEED = process.env.MEGANET_FUZZ_SEED != null ? Number(process.env.MEGANET_FUZZ_SEED) : undefined
/** Heap a target may leave behind (caches such as the key cache are bounded well below this). */
const RETAINED_HEAP_LIMIT_BYTES = 48 * 1024 * 1024

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

describe('fuzzed decoders and parsers', () => {
  for (const target of FUZZ_TARGETS) {
    it(`${target.name}: ${RUNS} hostile inputs, no crash, bounded memory`, async () => {
      gc()
      const before = process.memoryUsage().heapUsed
      const started = Date.now()
      await target.run({ numRuns: RUNS, ...(SEED != null ? { seed: SEED } : {}) })
      // Let timers the decoders armed (timeouts of a second or so) run out before measuring what stays.
      await new Promise(resolve => setTimeout(resolve, 1_500))
      gc()
      const retained = process.memoryUsage().heapUsed - before
      process.stdout.write(`fuzz: ${target.name}: ${RUNS} cases in ${Date.now() - started} ms, heap retained ${(retained / 1048576).toFixed(1)} MiB\n`)
      expect(retained).toBeLessThan(RETAINED_HEAP_LIMIT_BYTES)
    }, Math.max(60_000, RUNS * 5))
  }
})
