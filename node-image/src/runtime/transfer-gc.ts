import { isMainThread } from 'node:worker_threads'
import { ANCHOR_SCAVENGER, PEER_SCAVENGER, startBufferScavenger, type BufferScavenger, type BufferScavengerInit } from './buffer-scavenger.js'
import { ANCHOR_HEAP_GROWTH, PEER_HEAP_GROWTH, startHeapGrowth, type HeapGrowth, type HeapGrowthInit } from './heap-growth.js'

/** Who moves the bulk bytes: an anchor relaying and storing, or a peer putting and getting files. */
export type TransferGcRole = 'anchor' | 'peer'

export interface TransferGcPolicy {
  readonly scavenger: BufferScavengerInit
  readonly heapGrowth: HeapGrowthInit
}

/**
 * The two halves depend on each other: a small heap's raised limit must leave external memory
 * more room than the scavenger's window, or marking starts before the scavenge that would free
 * the buffers (`startHeapGrowth`). A peer keeps chunks in flight, so its window is wider than an
 * anchor's and its heap's factor larger. Change one with the other.
 */
export const TRANSFER_GC: Readonly<Record<TransferGcRole, TransferGcPolicy>> = {
  anchor: { scavenger: ANCHOR_SCAVENGER, heapGrowth: ANCHOR_HEAP_GROWTH },
  peer: { scavenger: PEER_SCAVENGER, heapGrowth: PEER_HEAP_GROWTH }
}

export class TransferGcError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'TransferGcError'
  }
}

export interface TransferGc {
  readonly role: TransferGcRole
  /** Scavenges run so far (for every holder of the process's policy). */
  readonly scavenges: number
  /** Whether the heap's growing factor is raised now (false once this holder has stopped). */
  readonly heapGrowthRaised: boolean
  /** Idempotent. The scavenges and the raised factor end when the last holder stops. */
  stop: () => void
}

export interface TransferGcStarters {
  readonly startHeapGrowth: (init: HeapGrowthInit) => HeapGrowth
  readonly startBufferScavenger: (init: BufferScavengerInit) => BufferScavenger
}

interface Running {
  readonly role: TransferGcRole
  readonly scavenger: BufferScavenger
  readonly heapGrowth: HeapGrowth
  holders: number
}

/**
 * Hands out holds on one policy at a time: the first hold starts it, the last one's `stop` ends
 * it, and a hold for the other role while it runs throws `TransferGcError`.
 */
export function createTransferGcStarter (starters: TransferGcStarters): (role: TransferGcRole) => TransferGc {
  let running: Running | undefined
  return role => {
    if (running !== undefined && running.role !== role) {
      throw new TransferGcError(`startTransferGc('${role}'): already started for '${running.role}' in this process (V8's flags are per process); stop that first, or run the anchor and the peer in separate processes`)
    }
    if (running === undefined) {
      const policy = TRANSFER_GC[role]
      const heapGrowth = starters.startHeapGrowth(policy.heapGrowth)
      let scavenger: BufferScavenger
      try {
        scavenger = starters.startBufferScavenger(policy.scavenger)
      } catch (err) {
        heapGrowth.stop()
        throw err
      }
      running = { role, scavenger, heapGrowth, holders: 0 }
    }
    const held = running
    held.holders++
    let stopped = false
    return {
      role,
      get scavenges () { return held.scavenger.scavenges },
      get heapGrowthRaised () { return !stopped && held.heapGrowth.raised },
      stop: () => {
        if (stopped) return
        stopped = true
        if (--held.holders > 0) return
        held.scavenger.stop()
        held.heapGrowth.stop()
        running = undefined
      }
    }
  }
}

// The process's one starter: V8's flags and its `gc` are the process's, so its state is too.
const processStarter = createTransferGcStarter({ startHeapGrowth, startBufferScavenger })

/**
 * Frees the short-lived buffers of bulk transfers with scavenges, and gives a small heap room
 * for them between scavenges. Both set V8 flags for the whole process, so there is one policy
 * per process: overlapping transfers share it, it ends when the last of them stops, and an
 * anchor and a peer in one process, which would need both windows at once, are refused. Only
 * on the main thread, which owns that state (another thread's holds would not count).
 */
export function startTransferGc (role: TransferGcRole): TransferGc {
  if (!isMainThread) throw new TransferGcError(`startTransferGc('${role}'): call it on the main thread (V8's flags are per process, and holds are counted there)`)
  return processStarter(role)
}
