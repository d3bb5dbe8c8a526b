import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'

export interface HeapGrowthInit {
  /** Below this old generation, read after each mark-compact, V8's next limit grows by `growingPercent`. */
  readonly smallHeapBytes: number
  /** `--heap-growing-percent` while the heap is small: 100 makes the next limit twice the old generation. */
  readonly growingPercent: number
  /** Where the V8 flag goes; `v8.setFlagsFromString` unless a test records it. */
  readonly setFlags?: (flags: string) => void
}

/**
 * 64 MiB: an anchor relaying for a few peers holds about 40 MiB, and each reservation adds
 * about 28 KiB (the capacity benchmark), so an anchor holding more than roughly 900 (an
 * estimate) keeps V8's factor. In side-by-side runs of the relay benchmark, doubling cut
 * mark-compacts per run from 18-40 to 4-10 and raised the first transfer after the anchor's
 * start from 62-82 to 103-123 MB per CPU second. Large heaps are left to V8 because nothing
 * showed doubling pays there, and it lets more garbage stay.
 */
export const ANCHOR_HEAP_GROWTH: HeapGrowthInit = { smallHeapBytes: 64 * 2 ** 20, growingPercent: 100 }

/**
 * A peer putting or getting a file holds about 27 MiB, and its buffer scavenger lets external
 * memory rise 32 MiB between scavenges: a doubled limit leaves it about 27 MiB, so marking starts
 * before the scavenge; a tripled one (200) about 54 MiB. In a harness of the storage benchmark's
 * fleet (128 MiB puts, interleaved processes, the flag set once at their start), the peer ran
 * 0-25 mark-compacts per put with V8's factor and 0-2 tripled (12 puts each), and its CPU per MB
 * put fell from 16.0 to 10.9 ms (means); with the anchors' doubling, 11-19 (6 puts, an earlier
 * run). In the storage benchmark (four interleaved pairs) this policy took the peer's CPU per MB
 * put from 15.1 to 11.3 ms. Peak RSS: 183-216 MiB tripled, 211-216 with V8's factor.
 */
export const PEER_HEAP_GROWTH: HeapGrowthInit = { smallHeapBytes: 64 * 2 ** 20, growingPercent: 200 }

export interface HeapGrowth {
  /** Whether this sets V8's growing factor now (else V8 works it out, or Node's command line set it). */
  readonly raised: boolean
  stop: () => void
}

const YOUNG_SPACES = new Set(['new_space', 'new_large_object_space'])

/** V8's heap without its young generation. */
export function oldGenerationBytes (): number {
  return getHeapSpaceStatistics().reduce((sum, space) => YOUNG_SPACES.has(space.space_name) ? sum : sum + space.space_used_size, 0)
}

function isMarkCompact (entry: PerformanceEntry): boolean {
  const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } }
  return detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR
}

/**
 * Gives a small heap room for the external memory of sockets and Noise messages.
 *
 * V8 starts marking once the old generation's headroom (its limit, less its objects and the
 * external memory allocated since the last mark-compact) is down to one semi-space. The limit it
 * sets after a mark-compact is the live size times a growing factor (1.2-1.5 for a relaying
 * anchor), or 8 MiB more if that is more, plus one semi-space. So a heap of about 40 MiB left
 * 8-20 MiB for external memory, while the buffer scavenger lets it rise by 8 MiB between
 * scavenges and buffers in flight at a scavenge die in the old generation: a relaying anchor
 * ran mark-compacts back to back, each of which found almost nothing to free. A factor of 2
 * (`--heap-growing-percent=100`) leaves a 40 MiB heap 40 MiB: the live size times the factor
 * less one. That room must exceed the buffer scavenger's window, hence a larger factor for a
 * peer, whose window is larger (see the policies).
 *
 * The flag also overrides the smaller factors V8 picks to save memory (its memory reducer),
 * for small heaps only. The old generation is read when Node reports the mark-compact, shortly
 * after it, and the flag counts from the next one: a heap that grows fast past the threshold
 * gets one more raised limit, which V8 still caps halfway to `--max-old-space-size`. A
 * `--heap-growing-percent` on Node's command line wins: then this does nothing. One per process,
 * because the flag is the process's: start it through `startTransferGc`, which shares it.
 *
 * It does not end every run of back-to-back marking: in one relay transfer of the benchmark,
 * five mark-compacts began with 54-57 MiB of headroom, while the buffer scavenger ran a fifth
 * of its usual scavenges.
 */
export function startHeapGrowth (init: HeapGrowthInit): HeapGrowth {
  if (process.execArgv.some(arg => /^--heap[-_]growing[-_]percent/.test(arg))) return { raised: false, stop: () => {} }
  const setFlags = init.setFlags ?? setFlagsFromString
  let raised: boolean | undefined
  const decide = (): void => {
    const small = oldGenerationBytes() < init.smallHeapBytes
    if (small === raised) return
    // 0 gives the factor back to V8, which reads the flag whenever it sets a limit.
    setFlags(`--heap-growing-percent=${small ? init.growingPercent : 0}`)
    raised = small
  }
  // Observing first: if that threw, no flag would be left raised with nothing to lower it.
  const observer = new PerformanceObserver(list => {
    if (list.getEntries().some(isMarkCompact)) decide()
  })
  observer.observe({ entryTypes: ['gc'] })
  decide()
  return {
    get raised () { return raised === true },
    stop: () => {
      observer.disconnect()
      if (raised === true) setFlags('--heap-growing-percent=0')
      raised = false
    }
  }
}
