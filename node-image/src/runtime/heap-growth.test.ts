import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { ANCHOR_HEAP } from '@meganet/contracts'
import { describe, expect, it, vi } from 'vitest'
import { runGcChild } from './gc-child.fixture.js'
import { oldGenerationBytes, PEER_HEAP_GROWTH, startHeapGrowth } from './heap-growth.js'

/**
 * An anchor's heap in a fresh process: 40 MiB of live objects, the anchor's semi-spaces and
 * buffer scavenger, and 64 KiB buffers allocated with the event loop turning, most short-lived
 * and every sixteenth kept a while (as a relay's buffers are when a scavenge finds them in
 * flight), so that they die in the old generation. Prints the mark-compacts V8 ran in the second
 * GiB of buffers (the first warms the process up), whether the policy had raised the factor at
 * the end, and the live objects' count (which keeps them reachable to the end).
 */
const ALLOCATE = `
const main = async () => {
  const [mode, scavengerUrl, growthUrl] = process.argv.slice(1)
  const growth = mode === 'anchor' ? await import(growthUrl).then(m => m.startHeapGrowth(m.ANCHOR_HEAP_GROWTH)) : undefined
  const { ANCHOR_SCAVENGER, startBufferScavenger } = await import(scavengerUrl)
  startBufferScavenger(ANCHOR_SCAVENGER)
  const live = []
  for (let i = 0; i < 40 * 1024; i++) live.push(new Array(126).fill(i))
  const alive = []
  const kept = []
  for (let i = 0; i < 32768; i++) {
    if (i === 16384) counting = true
    const buffer = Buffer.allocUnsafe(65536)
    alive.push(buffer)
    if (alive.length > 16) alive.shift()
    if (i % 16 === 0) kept.push(buffer)
    if (kept.length > 64) kept.shift()
    if (i % 16 === 0) await new Promise(resolve => setTimeout(resolve, 1))
  }
  setImmediate(() => { process.stdout.write(JSON.stringify({ majors, raised: growth?.raised ?? false, live: live.length })); process.exit(0) })
}
void main()
`

/**
 * A peer's put in a fresh process: 27 MiB of live objects, the peer's buffer scavenger, four
 * 1 MiB chunks (plaintext and sealed) in flight and 64 KiB messages that die at once, after a
 * first mark-compact (as a peer has run one by its second transfer, so that V8's limit comes from
 * the live size). Prints the mark-compacts V8 ran in the last 384 chunks with the growing percent
 * given. V8's own factor is not compared: it varies with V8's measured speeds (0-44 in 768 chunks).
 */
const PUT = `
const main = async () => {
  const [percent, scavengerUrl, growthUrl] = process.argv.slice(1)
  const { PEER_HEAP_GROWTH, startHeapGrowth } = await import(growthUrl)
  const growth = startHeapGrowth({ ...PEER_HEAP_GROWTH, growingPercent: Number(percent) })
  const { PEER_SCAVENGER, startBufferScavenger } = await import(scavengerUrl)
  startBufferScavenger(PEER_SCAVENGER)
  const live = []
  for (let i = 0; i < 27 * 1024; i++) live.push(new Array(126).fill(i))
  gc()
  const inFlight = []
  for (let chunk = 0; chunk < 512; chunk++) {
    if (chunk === 128) counting = true
    inFlight.push([Buffer.allocUnsafe(1 << 20), Buffer.allocUnsafe(1 << 20)])
    if (inFlight.length > 4) inFlight.shift()
    for (let m = 0; m < 16; m++) {
      Buffer.allocUnsafe(65536)
      if (m % 8 === 0) await new Promise(resolve => setTimeout(resolve, 1))
    }
  }
  setImmediate(() => { process.stdout.write(JSON.stringify({ majors, raised: growth.raised, live: live.length })); process.exit(0) })
}
void main()
`

interface Run { majors: number, raised: boolean }

async function allocate (mode: 'stock' | 'anchor'): Promise<Run> {
  return await runGcChild<Run>({
    script: ALLOCATE,
    args: [mode, new URL('./buffer-scavenger.ts', import.meta.url).href, new URL('./heap-growth.ts', import.meta.url).href],
    nodeFlags: [`--max-semi-space-size=${ANCHOR_HEAP.semiSpaceMiB}`]
  })
}

async function put (percent: number): Promise<Run> {
  return await runGcChild<Run>({
    script: PUT,
    args: [String(percent), new URL('./buffer-scavenger.ts', import.meta.url).href, new URL('./heap-growth.ts', import.meta.url).href],
    nodeFlags: ['--expose-gc']
  })
}

describe('startHeapGrowth', () => {
  it('stops the back-to-back mark-compacts of a small heap whose buffers die in the old generation', async () => {
    const [stock, anchor] = await Promise.all([allocate('stock'), allocate('anchor')])
    expect(anchor.raised).toBe(true)
    // Stock: 27-32 on a quiet machine. With the policy: 2.
    expect(stock.majors).toBeGreaterThanOrEqual(6)
    expect(anchor.majors).toBeLessThanOrEqual(stock.majors / 3)
  })

  it('leaves a small peer heap more room than the peer scavenger window; doubling does not', async () => {
    const [doubled, peer] = await Promise.all([put(100), put(PEER_HEAP_GROWTH.growingPercent)])
    expect(peer.raised).toBe(true)
    // Doubled: 16-18; the peer's policy: 0-1.
    expect(doubled.majors).toBeGreaterThanOrEqual(8)
    expect(peer.majors).toBeLessThanOrEqual(doubled.majors / 3)
  })

  it('follows the old generation across the threshold, read after each mark-compact, and gives V8 its factor back when stopped', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    gc()
    const flags: string[] = []
    const growth = startHeapGrowth({ smallHeapBytes: oldGenerationBytes() + 32 * 2 ** 20, growingPercent: 150, setFlags: flag => { flags.push(flag) } })
    try {
      expect(growth.raised).toBe(true)
      // 64 MiB of live arrays, in the old generation after a mark-compact.
      const live = Array.from({ length: 64 * 1024 }, (_, i) => new Array<number>(126).fill(i))
      gc()
      await vi.waitFor(() => { expect(growth.raised).toBe(false) })
      live.length = 0
      gc()
      await vi.waitFor(() => { expect(growth.raised).toBe(true) })
    } finally {
      growth.stop()
    }
    expect(growth.raised).toBe(false)
    expect(flags).toEqual(['--heap-growing-percent=150', '--heap-growing-percent=0', '--heap-growing-percent=150', '--heap-growing-percent=0'])
  })
})
