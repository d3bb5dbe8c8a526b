/**
 * A peer host in the NAT lab: runs inside a host's network namespace (`node peer-worker.ts`,
 * Node strips the types) and starts one fresh peer per trial on command. Commands arrive as
 * JSON lines on stdin, answers leave as JSON lines on stdout (see worker-protocol.ts).
 * It imports only packages and types, so it runs without a build step of its own.
 */
import { createInterface } from 'node:readline'
import { MeganetPeer } from '@meganet/node/peer'
import type { Connection } from '@libp2p/interface'
import type { PeerOptions } from '@meganet/node/peer'
import type { LocateReply, ReachReport, ReceiverReport, WorkerReply, WorkerRequest } from './worker-protocol.js'

let peer: MeganetPeer | undefined
/** When each remote peer's first relayed and first direct connection opened, by PeerId. */
const opened = new Map<string, { relayedAt?: number, directAt?: number, directAddress?: string, relayedConnections: number, relayedVia: string[] }>()
let received: Array<{ at: number, bytes: number, relayed: boolean, from: string }> = []

function isRelayed (connection: Connection): boolean {
  return connection.remoteAddr.toString().includes('/p2p-circuit')
}

function record (connection: Connection): void {
  const key = connection.remotePeer.toString()
  const entry = opened.get(key) ?? { relayedConnections: 0, relayedVia: [] }
  const now = performance.now()
  if (isRelayed(connection)) {
    entry.relayedConnections++
    entry.relayedVia.push(connection.remoteAddr.toString())
    entry.relayedAt ??= now
  } else if (entry.directAt == null) {
    entry.directAt = now
    entry.directAddress = connection.remoteAddr.toString()
  }
  opened.set(key, entry)
}

async function start (options: Partial<PeerOptions>, anchors: string[]): Promise<WorkerReply> {
  await stop()
  opened.clear()
  received = []
  peer = await MeganetPeer.create({ anchors, ...options })
  peer.node.addEventListener('connection:open', event => { record(event.detail) })
  peer.onMessage(message => { received.push({ at: performance.now(), bytes: message.data.byteLength, relayed: message.relayed, from: message.from }) })
  await peer.start()
  return { peerId: peer.peerId, addresses: peer.node.getMultiaddrs().map(a => a.toString()) }
}

async function stop (): Promise<void> {
  const running = peer
  peer = undefined
  await running?.stop()
}

async function until (check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > deadline) return false
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return true
}

/** Reaches `target` by PeerId, waits for a direct connection, then sends traffic. */
async function reach (target: string, waitDirectMs: number, messages: number, messageBytes: number): Promise<ReachReport> {
  if (peer == null) throw new Error('no peer started')
  const current = peer
  const first = await current.ping(target)
  const entry = (): ReturnType<typeof opened.get> => opened.get(target)
  const direct = await until(() => entry()?.directAt != null, waitDirectMs)
  const paths: string[] = [first.path]
  const payload = new Uint8Array(messageBytes).fill(7)
  let trafficError: string | undefined
  try {
    for (let i = 0; i < messages; i++) {
      await current.send(target, payload)
      paths.push((await current.ping(target)).path)
    }
  } catch (err) {
    // The pair met (the first ping went through): a later failure is reported, not thrown.
    trafficError = (err as Error).message
  }
  const connections = current.node.getConnections().filter(c => c.remotePeer.toString() === target)
  const e = entry()
  return {
    direct,
    ...(e?.relayedAt != null ? { relayedAt: e.relayedAt } : {}),
    ...(e?.directAt != null ? { directAt: e.directAt } : {}),
    ...(e?.directAddress != null ? { directAddress: e.directAddress } : {}),
    relayedConnectionsOpened: e?.relayedConnections ?? 0,
    relayedVia: e?.relayedVia ?? [],
    relayedConnectionsOpen: connections.filter(isRelayed).length,
    directConnectionsOpen: connections.filter(c => !isRelayed(c)).length,
    paths,
    ...(trafficError != null ? { trafficError } : {}),
    advertised: current.node.getMultiaddrs().map(a => a.toString())
  }
}

/** What this peer received from `from`, split at the moment its direct connection opened. */
function receiverReport (from: string): ReceiverReport {
  const directAt = opened.get(from)?.directAt
  const mine = received.filter(r => r.from === from)
  const after = directAt == null ? [] : mine.filter(r => r.at >= directAt)
  return {
    ...(directAt != null ? { directAt } : {}),
    messages: mine.length,
    relayedMessages: mine.filter(r => r.relayed).length,
    relayedBytesAfterDirect: after.filter(r => r.relayed).reduce((sum, r) => sum + r.bytes, 0),
    advertised: peer?.node.getMultiaddrs().map(a => a.toString()) ?? []
  }
}

async function locate (target: string): Promise<LocateReply> {
  if (peer == null) throw new Error('no peer started')
  const found = await peer.locate(target)
  return {
    via: found.via,
    multiaddrs: found.multiaddrs.map(a => a.toString()),
    anchorConnections: peer.node.getConnections().filter(c => !isRelayed(c)).map(c => c.remoteAddr.toString())
  }
}

async function handle (request: WorkerRequest): Promise<WorkerReply> {
  switch (request.op) {
    case 'start': return await start(request.options, request.anchors)
    case 'reach': return await reach(request.peerId, request.waitDirectMs, request.messages, request.messageBytes)
    case 'received': return receiverReport(request.from)
    case 'locate': return await locate(request.peerId)
    case 'stop': await stop(); return {}
  }
}

const lines = createInterface({ input: process.stdin })
lines.on('line', line => {
  const request = JSON.parse(line) as WorkerRequest & { id: number }
  handle(request).then(
    reply => { process.stdout.write(`${JSON.stringify({ id: request.id, ok: true, reply })}\n`) },
    (err: unknown) => { process.stdout.write(`${JSON.stringify({ id: request.id, ok: false, error: (err as Error).message })}\n`) }
  )
})
lines.on('close', () => { void stop().finally(() => process.exit(0)) })
process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
