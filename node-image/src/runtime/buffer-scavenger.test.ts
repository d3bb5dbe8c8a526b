import { describe, expect, it } from 'vitest'
import { runGcChild } from './gc-child.fixture.js'

/**
 * Allocates 2 GiB of 64 KiB buffers in a fresh process, a few alive at a time and the event
 * loop turning as in a transfer (at most ~1 GB/s: a millisecond's timer per MiB). Prints, for
 * the last GiB (the first warms the process up), the mark-compacts V8 ran, the scavenger's
 * scavenges and the peak of V8's external memory.
 */
const ALLOCATE = `
const { getHeapStatistics } = require('node:v8')
const main = async () => {
  const scavenger = process.argv[1] === 'scavenged' ? await import(process.argv[2]).then(m => m.startBufferScavenger(m.ANCHOR_SCAVENGER)) : undefined
  const alive = []
  let peak = 0
  let scavengesBefore = 0
  for (let i = 0; i < 32768; i++) {
    if (i === 16384) { counting = true; scavengesBefore = scavenger?.scavenges ?? 0 }
    alive.push(Buffer.allocUnsafe(65536))
    if (alive.length > 16) alive.shift()
    if (i % 16 === 0) {
      if (counting) peak = Math.max(peak, getHeapStatistics().external_memory)
      await new Promise(resolve => setTimeout(resolve, 1))
    }
  }
  setImmediate(() => { process.stdout.write(JSON.stringify({ majors, scavenges: (scavenger?.scavenges ?? 0) - scavengesBefore, peak })); process.exit(0) })
}
void main()
`

interface Run { majors: number, scavenges: number, peak: number }

async function allocate (mode: 'stock' | 'scavenged'): Promise<Run> {
  return await runGcChild<Run>({ script: ALLOCATE, args: [mode, new URL('./buffer-scavenger.ts', import.meta.url).href] })
}

describe('startBufferScavenger', () => {
  it('frees short-lived buffers with scavenges instead of a mark-compact per 64 MiB of them, and holds less', async () => {
    const [stock, scavenged] = await Promise.all([allocate('stock'), allocate('scavenged')])
    // Stock: ~16. Scavenged: none, or a few if V8 shrinks the heap of the process's start meanwhile.
    expect(stock.majors).toBeGreaterThanOrEqual(10)
    expect(scavenged.majors).toBeLessThanOrEqual(stock.majors / 2)
    expect(scavenged.scavenges).toBeGreaterThanOrEqual(32)
    expect(scavenged.peak).toBeLessThan(stock.peak)
  })

  it('leaves the process global without a gc function', async () => {
    const { ANCHOR_SCAVENGER, startBufferScavenger } = await import('./buffer-scavenger.js')
    const scavenger = startBufferScavenger(ANCHOR_SCAVENGER)
    scavenger.stop()
    expect('gc' in globalThis).toBe(false)
  })
})
