/**
 * A child process of the `capacity` and `reconnect-storm-js` benchmarks that holds many relay
 * reservations on one anchor. Each simulated peer is the smallest libp2p node that can hold a
 * reservation (TCP, Noise, Yamux, the relay transport, identify and ping: no DHT, no autonat),
 * keeps its connection alive as the peer library does (a yamux ping every 30 s), and dials
 * from its own loopback address (127.64.0.0/10, argv[3] peers each, one address per /24), so the
 * anchor's per-IP and per-network caps and per-host rate limits see many hosts on many networks,
 * as they would in production.
 *
 * With argv[4] `rejoin`, each peer holds its reservation the way the peer library does: it
 * listens on `/p2p-circuit` (any relay it is connected to), and the library's {@link AnchorMesh}
 * redials the anchor with backoff and jitter when the connection drops; the reservation follows
 * the new connection.
 *
 * Commands arrive as JSON lines on stdin, one answer per line on stdout:
 *   {"join":{"count":N,"offset":K}} -> {"joined":n,"latenciesMs":[...],"failures":{"message":count},"rssBytes":r}
 *   {"rejoined":{"since":T}} (rejoin mode) -> {"peers":n,"rejoinedMs":[...],"connectedUnreserved":c,"disconnected":d,"rssBytes":r}:
 *     for each peer that lost its reservation after T (ms since the epoch) and holds one again, how
 *     long after T it got it back; how many hold none now, connected to the anchor or not
 * `offset` numbers the peers across all workers, so their addresses never collide.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { AnchorMesh, ConnectionLiveness, PEER_LIVENESS, createLogger, libp2pLoggerOption } from '@meganet/node/testing'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'

/** Joins in flight per worker: a reconnect storm, not one peer after another. */
const CONCURRENCY = 8
const JOIN_TIMEOUT_MS = 30_000
/** A phone whose join fails tries again after a pause, as the peer library does (with backoff). */
const ATTEMPTS = 2
const RETRY_AFTER_MS = 1_000

export interface JoinCommand { readonly join: { readonly count: number, readonly offset: number } }
export interface RejoinedCommand { readonly rejoined: { readonly since: number } }
export interface RejoinedAnswer {
  readonly peers: number
  readonly rejoinedMs: number[]
  /** Peers without a reservation now: connected to the anchor, or not. */
  readonly connectedUnreserved: number
  readonly disconnected: number
  /** Connections these peers closed because the anchor did not answer a keepalive ping in time, since the worker started. */
  readonly closedUnanswered: number
  /** The longest this worker's event loop was held up since the last answer: how starved the simulated peers are. */
  readonly loopDelayMaxMs: number
  readonly rssBytes: number
}
export interface JoinAnswer {
  readonly joined: number
  readonly latenciesMs: number[]
  /** Joins that failed every attempt, by cause. */
  readonly failures: Record<string, number>
  /** Joins that needed a second attempt. */
  readonly retried: number
  readonly rssBytes: number
}

/**
 * The loopback address simulated peer `index` dials from: each host in a /24 of its own (for up
 * to 16,384 hosts), as peers in the world come from many networks, so the anchor's per-network
 * limits (reservations, handshakes in flight) treat them as it would real ones.
 */
function sourceAddress (index: number, peersPerAddress: number): string {
  const host = Math.floor(index / peersPerAddress)
  return `127.${64 + (host & 63)}.${(host >> 6) & 255}.${1 + ((host >> 14) & 127)}`
}

function isJoinCommand (value: unknown): value is JoinCommand {
  const join = (value as { join?: { count?: unknown, offset?: unknown } } | null)?.join
  return Number.isInteger(join?.count) && Number.isInteger(join?.offset)
}

function isRejoinedCommand (value: unknown): value is RejoinedCommand {
  return Number.isFinite((value as { rejoined?: { since?: unknown } } | null)?.rejoined?.since)
}

const hasCircuitAddress = (node: Libp2p): boolean => node.getMultiaddrs().some(address => address.toString().includes('/p2p-circuit'))

/** A simulated peer, and when (ms since the epoch) it last lost and last regained a circuit address. */
interface Peer {
  readonly node: Libp2p
  /** Whether it holds a circuit address now: in rejoin mode as the events below last said; a joinOne peer holds one from the start. */
  reserved: boolean
  lostAt?: number
  gainedAt?: number
}

/**
 * Follows a peer's circuit address: the relay transport adds and removes it with the reservation
 * and says so at once with `transport:listening`; `self:peer:update` comes up to a second later
 * (libp2p debounces it), which would add that second to every rejoin time measured.
 */
function track (node: Libp2p): Peer {
  const peer: Peer = { node, reserved: hasCircuitAddress(node) }
  const check = (): void => {
    const now = hasCircuitAddress(node)
    if (now === peer.reserved) return
    peer.reserved = now
    if (now) peer.gainedAt = Date.now()
    else peer.lostAt = Date.now()
  }
  node.addEventListener('transport:listening', check)
  node.addEventListener('self:peer:update', check)
  return peer
}

const silent = createLogger('silent')
let closedUnanswered = 0
const loopDelay = monitorEventLoopDelay({ resolution: 20 })
loopDelay.enable()
const liveness = { ...PEER_LIVENESS, log: silent, onUnanswered: () => { closedUnanswered++ } }

/** A peer that keeps its anchor connected and its reservation held, as the peer library does. */
async function joinRejoining (relay: string, index: number, peersPerAddress: number): Promise<Peer> {
  const dialOpts = { noDelay: true, localAddress: sourceAddress(index, peersPerAddress) }
  const node = await createLibp2p({
    start: false,
    // As the peer library: no libp2p debug loggers unless DEBUG asks for them.
    ...libp2pLoggerOption(),
    addresses: { listen: ['/p2p-circuit'] },
    transports: [tcp({ dialOpts }), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    // As the peer library: ConnectionLiveness (started below) is the one keepalive.
    streamMuxers: [yamux({ enableKeepAlive: false })],
    // As the peer library: its anchor mesh redials anchors, libp2p's reconnect queue does not.
    connectionManager: { reconnectRetries: 0 },
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ping: ping() }
  })
  const mesh = new AnchorMesh(node, [relay], silent)
  try {
    await node.start()
    const peer = track(node)
    const reserved = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`no reservation within ${JOIN_TIMEOUT_MS} ms`)) }, JOIN_TIMEOUT_MS)
      const check = (): void => {
        if (!hasCircuitAddress(node)) return
        clearTimeout(timer)
        node.removeEventListener('transport:listening', check)
        node.removeEventListener('self:peer:update', check)
        resolve()
      }
      node.addEventListener('transport:listening', check)
      node.addEventListener('self:peer:update', check)
    })
    mesh.start()
    await reserved
    new ConnectionLiveness(node, liveness).start()
    return peer
  } catch (err) {
    mesh.stop()
    await Promise.resolve(node.stop()).catch(() => {})
    throw err
  }
}

async function joinOne (relay: string, index: number, peersPerAddress: number): Promise<Libp2p> {
  // @libp2p/tcp hands dialOpts to net.connect whole; its type names only some of them.
  const dialOpts = { noDelay: true, localAddress: sourceAddress(index, peersPerAddress) }
  const node = await createLibp2p({
    start: false,
    // As the peer library: no libp2p debug loggers unless DEBUG asks for them.
    ...libp2pLoggerOption(),
    addresses: { listen: [`${relay}/p2p-circuit`] },
    transports: [tcp({ dialOpts }), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    // As the peer library: ConnectionLiveness (started below) is the one keepalive.
    streamMuxers: [yamux({ enableKeepAlive: false })],
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ping: ping() }
  })
  try {
    await Promise.race([
      node.start(),
      new Promise((_resolve, reject) => setTimeout(() => reject(new Error(`no reservation within ${JOIN_TIMEOUT_MS} ms`)), JOIN_TIMEOUT_MS).unref())
    ])
    if (!node.getMultiaddrs().some(address => address.toString().includes('/p2p-circuit'))) throw new Error('started without a circuit address')
    new ConnectionLiveness(node, liveness).start()
    return node
  } catch (err) {
    await Promise.resolve(node.stop()).catch(() => {})
    throw err
  }
}

async function join (relay: string, peersPerAddress: number, rejoin: boolean, peers: Peer[], count: number, offset: number): Promise<JoinAnswer> {
  const latenciesMs: number[] = []
  const failures: Record<string, number> = {}
  let retried = 0
  let next = 0
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
    while (next < count) {
      const index = offset + next++
      const started = performance.now()
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        try {
          peers.push(rejoin ? await joinRejoining(relay, index, peersPerAddress) : { node: await joinOne(relay, index, peersPerAddress), reserved: true })
          latenciesMs.push(performance.now() - started)
          break
        } catch (err) {
          if (attempt < ATTEMPTS) {
            retried++
            await new Promise(resolve => setTimeout(resolve, RETRY_AFTER_MS))
            continue
          }
          // libp2p wraps the dial's cause in a multi-line listen error: keep the cause, less its port.
          const lines = (err as Error).message.split('\n').map(l => l.trim()).filter(l => l !== '')
          const message = (lines.find(l => l.includes('Error')) ?? lines[0] ?? 'unknown').replace(/\/tcp\/\d+\/p2p\/\w+|:\d+/g, '')
          failures[message] = (failures[message] ?? 0) + 1
        }
      }
    }
  }))
  return { joined: latenciesMs.length, latenciesMs, failures, retried, rssBytes: process.memoryUsage().rss }
}

function rejoined (peers: readonly Peer[], since: number): RejoinedAnswer {
  const rejoinedMs: number[] = []
  let connectedUnreserved = 0
  let disconnected = 0
  // From what the events said, not getMultiaddrs(): asking every peer for its addresses each
  // second was 7% of a worker's busy time in a storm, CPU the simulated peers need to rejoin.
  for (const peer of peers) {
    if (!peer.reserved) {
      if (peer.node.getConnections().length > 0) connectedUnreserved++
      else disconnected++
    }
    if (peer.lostAt == null || peer.lostAt < since || peer.gainedAt == null || peer.gainedAt < peer.lostAt) continue
    rejoinedMs.push(peer.gainedAt - since)
  }
  const loopDelayMaxMs = loopDelay.max / 1e6
  loopDelay.reset()
  return { peers: peers.length, rejoinedMs, connectedUnreserved, disconnected, closedUnanswered, loopDelayMaxMs, rssBytes: process.memoryUsage().rss }
}

async function main (): Promise<void> {
  const relay = process.argv[2]
  const peersPerAddress = Number(process.argv[3])
  const mode = process.argv[4]
  if (relay == null || !relay.includes('/p2p/') || !Number.isInteger(peersPerAddress) || peersPerAddress < 1 || (mode != null && mode !== 'rejoin')) {
    throw new Error('usage: reservation-worker <anchor multiaddr ending in /p2p/<peerId>> <peers per source address> [rejoin]')
  }
  const peers: Peer[] = []
  // stdin closing mid-join (the benchmark was killed) ends this worker at once, not after the join.
  process.stdin.once('end', () => { process.exit(0) })
  for await (const line of createInterface({ input: process.stdin })) {
    const command: unknown = JSON.parse(line)
    let answer: JoinAnswer | RejoinedAnswer
    if (isJoinCommand(command)) answer = await join(relay, peersPerAddress, mode === 'rejoin', peers, command.join.count, command.join.offset)
    else if (isRejoinedCommand(command) && mode === 'rejoin') answer = rejoined(peers, command.rejoined.since)
    else throw new Error(`unknown command ${line}`)
    process.stdout.write(JSON.stringify(answer) + '\n')
  }
  // stdin closed: the benchmark is done with these peers.
  process.exit(0)
}

main().catch((err: unknown) => {
  process.stderr.write(`reservation-worker: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
