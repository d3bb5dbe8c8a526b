import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** V8's `gc` extension: `{ type: 'minor' }` runs one scavenge of the young generation. */
type GcFunction = (options: { type: 'minor' }) => void

export interface BufferScavengerInit {
  /** Growth of V8's external memory since the last scavenge that starts the next one. */
  readonly growthBytes: number
  /** How often to look while buffers are being allocated. */
  readonly busyIntervalMs: number
  /** How often to look while they are not (external memory moved by under a sixteenth of `growthBytes` since the last look). */
  readonly idleIntervalMs: number
}

/**
 * Chosen by side-by-side runs of the relay and storage benchmarks. An anchor's buffers die
 * within a few MiB of traffic; 8 MiB gave the relay 0.50-0.59x go-libp2p's bytes per CPU
 * second, against 0.47 at 16 MiB and 0.27 without. A peer's put or get keeps several chunks
 * in flight, and a scavenge while they are alive moves them to the old generation (which only a
 * mark-compact frees): per 128 MiB put the peer ran 1-3 mark-compacts at 32 MiB, 14-21 at
 * 8 MiB and ~34 without.
 */
export const ANCHOR_SCAVENGER: BufferScavengerInit = { growthBytes: 8 * 2 ** 20, busyIntervalMs: 10, idleIntervalMs: 100 }
export const PEER_SCAVENGER: BufferScavengerInit = { growthBytes: 32 * 2 ** 20, busyIntervalMs: 10, idleIntervalMs: 100 }

export interface BufferScavenger {
  /** Scavenges run so far. */
  readonly scavenges: number
  stop: () => void
}

let gcFunction: GcFunction | undefined

/** V8's `gc`, taken from a fresh context so that the process's own global gains no `gc`. */
function minorGc (): GcFunction {
  if (gcFunction === undefined) {
    setFlagsFromString('--expose-gc')
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined')
    if (typeof gc !== 'function') throw new Error('V8 did not expose gc: this Node does not support --expose-gc at run time')
    gcFunction = gc as GcFunction
  }
  return gcFunction
}

/**
 * Frees short-lived buffers with scavenges instead of mark-compacts.
 *
 * Every socket read, Noise message and stored block is a fresh ArrayBuffer outside V8's heap.
 * Their small JavaScript handles hardly fill the young generation, so scavenges, which would
 * free them cheaply, seldom run; instead V8 answers the growth of external memory with full
 * mark-compacts of the whole heap (29% of an anchor's busy time during a get, 20% of a
 * relay's). A scavenge once external memory has grown by `growthBytes` frees the dead ones
 * before that.
 *
 * Unlike V8's `--external-memory-accounted-in-global-limit`, which lets external memory grow
 * further before a collection, this collects sooner than stock V8 does, so an anchor's external
 * memory stays inside the bounds its security tests set (`test/security/relay-buffering.test.ts`).
 */
export function startBufferScavenger (init: BufferScavengerInit): BufferScavenger {
  const gc = minorGc()
  let scavenges = 0
  let baseline = getHeapStatistics().external_memory
  let lastLook = baseline
  let timer: NodeJS.Timeout
  const look = (): void => {
    const external = getHeapStatistics().external_memory
    // A fall counts too: V8 collected, so buffers are being allocated.
    const busy = Math.abs(external - lastLook) >= init.growthBytes / 16
    lastLook = external
    if (external < baseline) baseline = external
    else if (external - baseline >= init.growthBytes) {
      gc({ type: 'minor' })
      scavenges++
      baseline = lastLook = getHeapStatistics().external_memory
    }
    timer = setTimeout(look, busy ? init.busyIntervalMs : init.idleIntervalMs).unref()
  }
  timer = setTimeout(look, init.busyIntervalMs).unref()
  return {
    get scavenges () { return scavenges },
    stop: () => { clearTimeout(timer) }
  }
}
