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
 * the buffers (`startHeapGrowth`). A peer keeps chunks in flight, so its window is wider (32 MiB
 * against 8) and its heap's factor larger (3 against 2). Change one with the other.
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
  /** Scavenges run so far (by every holder of this process's policy). */
  readonly scavenges: number
  /** Whether the heap's growing factor is raised now. */
  readonly heapGrowthRaised: boolean
  /** Idempotent. The policy ends when its last holder stops. */
  stop: () => void
}

interface Running {
  readonly role: TransferGcRole
  readonly scavenger: BufferScavenger
  readonly heapGrowth: HeapGrowth
  holders: number
}

let running: Running | undefined

/**
 * Frees the short-lived buffers of bulk transfers with scavenges, and gives a small heap room
 * for them between scavenges. Both set V8 flags for the whole process, so there is one policy
 * per process: overlapping transfers share it, and it ends when the last one stops. An anchor
 * and a peer in one process would need both windows at once, which one V8 cannot give: that
 * throws `TransferGcError`.
 */
export function startTransferGc (role: TransferGcRole): TransferGc {
  if (running !== undefined && running.role !== role) {
    throw new TransferGcError(`transfer GC already runs for the ${running.role} role in this process; run an anchor and a peer that move files in separate processes`)
  }
  if (running === undefined) {
    const policy = TRANSFER_GC[role]
    const heapGrowth = startHeapGrowth(policy.heapGrowth)
    let scavenger: BufferScavenger
    try {
      scavenger = startBufferScavenger(policy.scavenger)
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
    get heapGrowthRaised () { return held.heapGrowth.raised },
    stop: () => {
      if (stopped) return
      stopped = true
      if (--held.holders > 0) return
      held.scavenger.stop()
      held.heapGrowth.stop()
      if (running === held) running = undefined
    }
  }
}
