import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { ANCHOR_SCAVENGER, PEER_SCAVENGER, type BufferScavengerInit } from './buffer-scavenger.js'
import { ANCHOR_HEAP_GROWTH, PEER_HEAP_GROWTH, type HeapGrowthInit } from './heap-growth.js'
import { createTransferGcStarter, startTransferGc, TransferGcError } from './transfer-gc.js'

/** Starters that record what they were asked to start and stop. */
function recordingStarters (options: { scavengerThrows?: boolean } = {}): { events: string[], start: ReturnType<typeof createTransferGcStarter> } {
  const events: string[] = []
  const name = (init: HeapGrowthInit | BufferScavengerInit): string => {
    if (init === ANCHOR_HEAP_GROWTH) return 'anchor heap'
    if (init === PEER_HEAP_GROWTH) return 'peer heap'
    if (init === ANCHOR_SCAVENGER) return 'anchor scavenger'
    if (init === PEER_SCAVENGER) return 'peer scavenger'
    return 'unknown'
  }
  const start = createTransferGcStarter({
    startHeapGrowth: init => {
      events.push(`start ${name(init)}`)
      return { raised: true, stop: () => { events.push(`stop ${name(init)}`) } }
    },
    startBufferScavenger: init => {
      if (options.scavengerThrows === true) throw new Error('no gc')
      events.push(`start ${name(init)}`)
      return { scavenges: 7, stop: () => { events.push(`stop ${name(init)}`) } }
    }
  })
  return { events, start }
}

describe('createTransferGcStarter', () => {
  it("starts each role's own pair once for overlapping holders, and stops it when the last holder stops", () => {
    for (const role of ['anchor', 'peer'] as const) {
      const { events, start } = recordingStarters()
      const first = start(role)
      const second = start(role)
      expect(events).toEqual([`start ${role} heap`, `start ${role} scavenger`])
      expect([first.scavenges, second.scavenges, first.heapGrowthRaised]).toEqual([7, 7, true])

      first.stop()
      first.stop()
      expect(events).toHaveLength(2)
      expect(first.heapGrowthRaised).toBe(false)
      expect(second.heapGrowthRaised).toBe(true)
      second.stop()
      expect(events.slice(2)).toEqual([`stop ${role} scavenger`, `stop ${role} heap`])
      expect(second.heapGrowthRaised).toBe(false)
    }
  })

  it('refuses the other role while one runs, and takes it once the first has stopped', () => {
    const { events, start } = recordingStarters()
    const peer = start('peer')
    expect(() => start('anchor')).toThrow(TransferGcError)
    expect(() => start('anchor')).toThrow("startTransferGc('anchor'): already started for 'peer' in this process")
    peer.stop()
    start('anchor').stop()
    expect(events).toEqual(['start peer heap', 'start peer scavenger', 'stop peer scavenger', 'stop peer heap',
      'start anchor heap', 'start anchor scavenger', 'stop anchor scavenger', 'stop anchor heap'])
  })

  it('stops the heap policy when the scavenger cannot start, and leaves nothing running', () => {
    const { events, start } = recordingStarters({ scavengerThrows: true })
    expect(() => start('peer')).toThrow('no gc')
    expect(events).toEqual(['start peer heap', 'stop peer heap'])
    // Nothing holds the process: the other role is not refused as if the peer's ran.
    expect(() => start('anchor')).toThrow('no gc')
  })
})

/** 256 MiB of 64 KiB buffers, a few alive at a time, with the event loop turning as in a transfer. */
async function moveBytes (): Promise<void> {
  const alive: Buffer[] = []
  for (let i = 0; i < 4096; i++) {
    alive.push(Buffer.allocUnsafe(65536))
    if (alive.length > 16) alive.shift()
    if (i % 16 === 0) await sleep(1)
  }
  // Time for the scavenger's next look.
  await sleep(PEER_SCAVENGER.busyIntervalMs * 5)
}

describe('startTransferGc', () => {
  it("scavenges the process's buffers for every holder until the last one stops", async () => {
    const first = startTransferGc('peer')
    const second = startTransferGc('peer')
    try {
      await moveBytes()
      expect(first.scavenges).toBeGreaterThan(0)
      first.stop()
      const before = second.scavenges
      await moveBytes()
      expect(second.scavenges).toBeGreaterThan(before)
    } finally {
      first.stop()
      second.stop()
    }
    const after = second.scavenges
    await moveBytes()
    expect(second.scavenges).toBe(after)
  })
})
