import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { AnchorMesh, turnedAway } from './anchor-mesh.js'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The part of libp2p the mesh uses: dials fail until `up` holds the anchor. */
class FakeNode extends EventTarget {
  readonly peerId: PeerId
  readonly up = new Set<string>()
  readonly connected = new Set<string>()
  readonly dials: Array<{ peer: string, at: number, addresses?: string[] }> = []
  readonly known = new Map<string, Multiaddr[]>()
  readonly peerStore = {
    merge: async (peer: PeerId, data: { multiaddrs: Multiaddr[] }) => { this.known.set(peer.toString(), data.multiaddrs); await Promise.resolve() },
    get: async (peer: PeerId) => await Promise.resolve({ addresses: (this.known.get(peer.toString()) ?? []).map(multiaddr => ({ multiaddr })) })
  }

  constructor (peerId: PeerId) {
    super()
    this.peerId = peerId
  }

  getConnections (peer?: PeerId): unknown[] {
    return peer != null && this.connected.has(peer.toString()) ? [{}] : []
  }

  /** By PeerId (every address), or only the given addresses (a probe), as libp2p's dial takes them. */
  /** Its gater refuses every address given explicitly (libp2p: DialDeniedError). */
  refuseAddresses = false
  /** What a dial of an anchor that is not up throws. */
  failure = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })

  async dial (target: PeerId | Multiaddr[]): Promise<void> {
    if (Array.isArray(target) && this.refuseAddresses) throw Object.assign(new Error('The connection gater denied all addresses'), { name: 'DialDeniedError' })
    const peer = Array.isArray(target) ? peerIdFromString(target[0]?.getComponents().findLast(c => c.name === 'p2p')?.value ?? '') : target
    this.dials.push({ peer: peer.toString(), at: Date.now(), ...(Array.isArray(target) ? { addresses: target.map(a => a.toString()) } : {}) })
    if (!this.up.has(peer.toString())) throw this.failure()
    if (!this.connected.has(peer.toString())) this.connect(peer)
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
    // full jitter above half the initial backoff, at random() = 0.5: halfway between 0.5 s and 1, 2, 4, 8, 8… seconds
    expect(gaps.slice(0, 6)).toEqual([750, 1250, 2250, 4250, 4250, 4250])
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

  /**
   * What js-libp2p throws when the anchor is up but resets the socket, or closes it before
   * answering the handshake (each seen against a libp2p node whose gater denies inbound connections).
   */
  const turnedAwayErrors: Array<[string, () => Error]> = [
    ['a reset connection', () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['a handshake cut short, among the dial\'s errors', () => new AggregateError([
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('Unexpected EOF'), { name: 'EncryptionFailedError' })
    ], 'All multiaddr dials failed')],
    // WebRTC-direct: the anchor's gater or pending-connection limit closes the data channel the handshake runs on.
    ['a WebRTC-direct handshake cut short', () => Object.assign(new Error('Unexpected EOF - stream closed while reading 0/1 bytes'), { name: 'UnexpectedEOFError' })]
  ]

  it.each(turnedAwayErrors)('waits 2-4 s, then up to 8 and 15 s, before redialling an anchor that turned it away with %s', async (_, failure) => {
    const node = new FakeNode(await peerId())
    node.failure = failure
    const anchor = await peerId()
    const mesh = new AnchorMesh(node as unknown as Libp2p, [`/ip4/127.0.0.1/tcp/1/p2p/${anchor.toString()}`], pino({ level: 'silent' }),
      { initialBackoffMs: 500, maxBackoffMs: 30_000, random: () => 0.5 })
    mesh.start()
    await vi.advanceTimersByTimeAsync(120_000)
    const gaps = node.dials.slice(1).map((d, i) => d.at - (node.dials[i]?.at ?? 0))
    // halfway between 2 s and 4, 8, then 15 s (the cap for an anchor that is up), not 30
    expect(gaps.slice(0, 4)).toEqual([3000, 5000, 8500, 8500])
    mesh.stop()
  })

  it('keeps the backoff for an anchor that is down apart from the one for an anchor turning dials away', async () => {
    const node = new FakeNode(await peerId())
    const anchor = await peerId()
    const mesh = new AnchorMesh(node as unknown as Libp2p, [`/ip4/127.0.0.1/tcp/1/p2p/${anchor.toString()}`], pino({ level: 'silent' }),
      { initialBackoffMs: 500, maxBackoffMs: 30_000, random: () => 0.5 })
    mesh.start()
    // Down for a minute: its backoff reaches 30 s.
    await vi.advanceTimersByTimeAsync(60_000)
    // Back, but shedding a crowd: retried within 15 s, not the 30 s the refusals reached.
    const [, busy] = turnedAwayErrors[0]!
    node.failure = busy
    const before = node.dials.length
    await vi.advanceTimersByTimeAsync(60_000)
    const busyGaps = node.dials.slice(before).map((d, i) => d.at - (node.dials[before + i - 1]?.at ?? 0))
    expect(Math.max(...busyGaps.slice(1))).toBeLessThanOrEqual(15_000)
    mesh.stop()

    // Busy first, then down (it crashed): the refusals start from 0.5 s, not from the busy 15 s.
    const other = new FakeNode(await peerId())
    other.failure = busy
    const crashing = new AnchorMesh(other as unknown as Libp2p, [`/ip4/127.0.0.1/tcp/1/p2p/${anchor.toString()}`], pino({ level: 'silent' }),
      { initialBackoffMs: 500, maxBackoffMs: 30_000, random: () => 0.5 })
    crashing.start()
    await vi.advanceTimersByTimeAsync(60_000)
    other.failure = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    const refusedFrom = other.dials.length
    await vi.advanceTimersByTimeAsync(20_000)
    const refusedGaps = other.dials.slice(refusedFrom).map((d, i) => d.at - (other.dials[refusedFrom + i - 1]?.at ?? 0))
    // (the first gap is the busy delay already scheduled) halfway between 0.25 s and 0.5, 1 s…
    expect(refusedGaps.slice(1, 3)).toEqual([375, 625])
    crashing.stop()
  })

  it('tells an anchor turning dials away from one that is down', () => {
    for (const [, failure] of turnedAwayErrors) expect(turnedAway(failure())).toBe(true)
    expect(turnedAway(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(false)
    expect(turnedAway(new AggregateError([new Error('The operation was aborted')], 'All multiaddr dials failed'))).toBe(false)
    expect(turnedAway(new Error('dial failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) }))).toBe(true)
    expect(turnedAway('ECONNRESET')).toBe(false)
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

  it('probes an anchor that keeps failing over TCP or WebSocket only, and is connected once that answers', async () => {
    const node = new FakeNode(await peerId())
    const anchor = await peerId()
    const id = anchor.toString()
    const mesh = new AnchorMesh(node as unknown as Libp2p, [
      `/ip4/127.0.0.1/udp/2/webrtc-direct/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE6g/p2p/${id}`, `/ip4/127.0.0.1/tcp/3/ws/p2p/${id}`
    ], pino({ level: 'silent' }), { initialBackoffMs: 1000, maxBackoffMs: 4000, random: () => 0.5 })
    mesh.start()
    await vi.advanceTimersByTimeAsync(30_000)
    // Two full dials, then only probes of the WebSocket address while the anchor stays down.
    expect(node.dials.slice(0, 2).every(d => d.addresses == null)).toBe(true)
    const probes = node.dials.slice(2)
    expect(probes.length).toBeGreaterThan(3)
    for (const probe of probes) expect(probe.addresses).toEqual([`/ip4/127.0.0.1/tcp/3/ws/p2p/${id}`])
    node.up.add(id)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(mesh.connectedCount()).toBe(1)
    mesh.stop()

    // Meanwhile nobody else may start a WebRTC-direct dial to it (relay discovery, the DHT); other anchors and addresses are not held back.
    const sleeping = new AnchorMesh(node as unknown as Libp2p, [`/ip4/127.0.0.1/udp/2/webrtc-direct/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE6g/p2p/${id}`], pino({ level: 'silent' }))
    expect(sleeping.holdsBack(multiaddr(`/ip4/127.0.0.1/udp/2/webrtc-direct/p2p/${id}`))).toBe(false)
    node.up.delete(id)
    node.connected.delete(id)
    const down = new AnchorMesh(node as unknown as Libp2p, [`/ip4/127.0.0.1/tcp/3/ws/p2p/${id}`], pino({ level: 'silent' }), { initialBackoffMs: 1000, random: () => 0.5 })
    down.start()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(down.holdsBack(multiaddr(`/ip4/127.0.0.1/udp/2/webrtc-direct/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE6g/p2p/${id}`))).toBe(true)
    expect(down.holdsBack(multiaddr(`/ip4/127.0.0.1/tcp/3/ws/p2p/${id}`))).toBe(false)
    expect(down.holdsBack(multiaddr(`/ip4/127.0.0.1/udp/2/webrtc-direct/p2p/${(await peerId()).toString()}`))).toBe(false)
    down.stop()

    // WebRTC-direct only: nothing cheaper to probe with, so it keeps dialling in full.
    const lone = new FakeNode(await peerId())
    const other = (await peerId()).toString()
    const only = new AnchorMesh(lone as unknown as Libp2p, [`/ip4/127.0.0.1/udp/2/webrtc-direct/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE6g/p2p/${other}`],
      pino({ level: 'silent' }), { initialBackoffMs: 1000, maxBackoffMs: 4000, random: () => 0.5 })
    only.start()
    await vi.advanceTimersByTimeAsync(30_000)
    expect(lone.dials.length).toBeGreaterThan(4)
    expect(lone.dials.every(d => d.addresses == null)).toBe(true)
    only.stop()

    // WebSocket addresses this node may not dial (an https page and plain ws): dials in full after the refused probe.
    const gated = new FakeNode(await peerId())
    gated.refuseAddresses = true
    const third = (await peerId()).toString()
    const refused = new AnchorMesh(gated as unknown as Libp2p, [`/ip4/127.0.0.1/tcp/3/ws/p2p/${third}`, `/ip4/127.0.0.1/udp/2/webrtc-direct/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE6g/p2p/${third}`],
      pino({ level: 'silent' }), { initialBackoffMs: 1000, maxBackoffMs: 4000, random: () => 0.5 })
    refused.start()
    await vi.advanceTimersByTimeAsync(30_000)
    expect(gated.dials.filter(d => d.addresses == null).length).toBeGreaterThan(4)
    refused.stop()
  })
})
