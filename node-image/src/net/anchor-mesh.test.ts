import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AnchorMesh } from './anchor-mesh.js'
import type { Libp2p, PeerId } from '@libp2p/interface'

/** The part of libp2p the mesh uses: dials fail until `up` holds the anchor. */
class FakeNode extends EventTarget {
  readonly peerId: PeerId
  readonly up = new Set<string>()
  readonly connected = new Set<string>()
  readonly dials: Array<{ peer: string, at: number }> = []
  readonly peerStore = { merge: async () => await Promise.resolve() }

  constructor (peerId: PeerId) {
    super()
    this.peerId = peerId
  }

  getConnections (peer?: PeerId): unknown[] {
    return peer != null && this.connected.has(peer.toString()) ? [{}] : []
  }

  async dial (peer: PeerId): Promise<void> {
    this.dials.push({ peer: peer.toString(), at: Date.now() })
    if (!this.up.has(peer.toString())) throw new Error('connection refused')
    this.connect(peer)
    return await Promise.resolve()
  }

  connect (peer: PeerId): void {
    this.connected.add(peer.toString())
    this.dispatchEvent(new CustomEvent('peer:connect', { detail: peer }))
  }
}

async function peerId (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

describe('the anchor mesh (reconnecting to anchors)', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('backs off exponentially with jitter up to the cap while an anchor is down', async () => {
    const node = new FakeNode(await peerId())
    const anchor = await peerId()
    const mesh = new AnchorMesh(node as unknown as Libp2p, [`/ip4/127.0.0.1/tcp/1/p2p/${anchor.toString()}`], pino({ level: 'silent' }),
      { initialBackoffMs: 1000, maxBackoffMs: 8000, random: () => 0.5 })
    mesh.start()
    await vi.advanceTimersByTimeAsync(60_000)
    const gaps = node.dials.slice(1).map((d, i) => d.at - (node.dials[i]?.at ?? 0))
    // equal jitter at random() = 0.5: 3/4 of 1, 2, 4, 8, 8, 8… seconds
    expect(gaps.slice(0, 6)).toEqual([750, 1500, 3000, 6000, 6000, 6000])
    mesh.stop()
  })

  it('spreads retries between half and all of the backoff', async () => {
    const node = new FakeNode(await peerId())
    const anchor = await peerId()
    let turn = 0
    const mesh = new AnchorMesh(node as unknown as Libp2p, [`/ip4/127.0.0.1/tcp/1/p2p/${anchor.toString()}`], pino({ level: 'silent' }),
      { initialBackoffMs: 1000, maxBackoffMs: 1000, random: () => [0, 0.999][turn++ % 2] ?? 0 })
    mesh.start()
    await vi.advanceTimersByTimeAsync(10_000)
    const gaps = node.dials.slice(1).map((d, i) => d.at - (node.dials[i]?.at ?? 0))
    expect(Math.min(...gaps)).toBe(500)
    expect(Math.max(...gaps)).toBe(1000)
    mesh.stop()
  })

  it('retries every other anchor at once when one answers, and when told the network changed', async () => {
    const node = new FakeNode(await peerId())
    const [a, b] = [await peerId(), await peerId()]
    const mesh = new AnchorMesh(node as unknown as Libp2p, [a, b].map(p => `/ip4/127.0.0.1/tcp/1/p2p/${p.toString()}`), pino({ level: 'silent' }),
      { initialBackoffMs: 1000, maxBackoffMs: 30_000, random: () => 0.5 })
    mesh.start()
    await vi.advanceTimersByTimeAsync(120_000) // both deep in backoff
    const before = node.dials.length
    node.up.add(b.toString())
    node.connect(a) // anchor a dialled us (or answered)
    await vi.advanceTimersByTimeAsync(10)
    expect(node.dials.slice(before).map(d => d.peer)).toEqual([b.toString()])
    expect(mesh.connectedCount()).toBe(2)

    node.connected.clear()
    node.up.clear()
    const again = node.dials.length
    mesh.retryNow()
    await vi.advanceTimersByTimeAsync(10)
    expect(node.dials.length - again).toBe(2)
    mesh.stop()
  })
})
