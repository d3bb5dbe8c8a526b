import { setFlagsFromString } from 'node:v8'

/**
 * V8 flags for a process that moves bulk bytes: an anchor that stores blocks, or the CLI's peer
 * putting or getting a file.
 *
 * Every socket read, Noise message and stored block is a fresh ArrayBuffer outside V8's heap.
 * Stock V8 answers each 64 MiB of such external memory with a full mark-compact of the whole
 * heap, although nearly all of those buffers die young and a scavenge would free them. With
 * external memory counted in the heap's global limit instead, they go with the young
 * generation: 1 GiB of 64 KiB buffers took 12-13 mark-compacts before and none after
 * (`gc-tuning.test.ts`); a 128 MiB put or get through four anchors used ~0.7x the anchors' CPU
 * per MB. Anchors without storage go without it: their joins, relaying and reconnect storms
 * did not gain (docs/BENCHMARKS.md), and freed buffers wait longer with it (~20 MiB of RSS).
 * Set at start, before the process has moved any bytes. The test fails if a newer Node drops
 * the flag (V8 then only prints "unrecognized flag").
 */
export const GC_FLAGS = ['--external-memory-accounted-in-global-limit'] as const

export function tuneGarbageCollection (): void {
  for (const flag of GC_FLAGS) setFlagsFromString(flag)
}
