import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { oldGenerationBytes } from './heap-growth.js'
import { startTransferGc, TRANSFER_GC, TransferGcError } from './transfer-gc.js'

/** 256 MiB of 64 KiB buffers, a few alive at a time, with the event loop turning as in a transfer. */
async function moveBytes (): Promise<void> {
  const alive: Buffer[] = []
  for (let i = 0; i < 4096; i++) {
    alive.push(Buffer.allocUnsafe(65536))
    if (alive.length > 16) alive.shift()
    if (i % 16 === 0) await sleep(1)
  }
  // The scavenger looks every 10 ms while memory moves.
  await sleep(50)
}

describe('startTransferGc', () => {
  it('runs the scavenger and the heap policy as one, shared by overlapping holders until the last stops', async () => {
    const first = startTransferGc('peer')
    const second = startTransferGc('peer')
    try {
      // The policy raises the factor at once for a small heap, and leaves a large one to V8.
      expect(first.heapGrowthRaised).toBe(oldGenerationBytes() < TRANSFER_GC.peer.heapGrowth.smallHeapBytes)
      await moveBytes()
      expect(first.scavenges).toBeGreaterThan(0)
      expect(second.scavenges).toBe(first.scavenges)

      first.stop()
      first.stop()
      const before = second.scavenges
      await moveBytes()
      expect(second.scavenges).toBeGreaterThan(before)
    } finally {
      first.stop()
      second.stop()
    }
    expect(second.heapGrowthRaised).toBe(false)
    const after = second.scavenges
    await moveBytes()
    expect(second.scavenges).toBe(after)
  })

  it('refuses a second role in the same process, and takes one once the first has stopped', () => {
    const peer = startTransferGc('peer')
    try {
      expect(() => startTransferGc('anchor')).toThrow(TransferGcError)
      expect(() => startTransferGc('anchor')).toThrow(/already runs for the peer role/)
    } finally {
      peer.stop()
    }
    const anchor = startTransferGc('anchor')
    anchor.stop()
    expect(anchor.role).toBe('anchor')
  })

  it('pairs each role with a scavenger window its raised heap limit leaves room for', () => {
    // Each role's live heap while moving bytes (40 MiB relaying, 27 MiB putting; heap-growth.ts).
    const live = { anchor: 40 * 2 ** 20, peer: 27 * 2 ** 20 }
    for (const role of ['anchor', 'peer'] as const) {
      const { heapGrowth, scavenger } = TRANSFER_GC[role]
      expect(live[role] * heapGrowth.growingPercent / 100).toBeGreaterThan(scavenger.growthBytes)
    }
  })
})
