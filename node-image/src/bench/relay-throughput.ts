import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { AnchorChild } from '../devnet/anchor-child.js'
import { createPeerLibp2p } from '../peer/peer-libp2p.js'
import { cpuSeconds, residentBytes } from './process-usage.js'
import { quantile } from './stats.js'
import { BENCH_PROTOCOL, receiveBytes, sendBytes } from './stream-transfer.js'
import { startTcpProxy } from './tcp-proxy.js'
import type { BenchContext, BenchResult } from './bench-types.js'
import type { PeerLibp2p } from '../peer/peer-libp2p.js'
import type { AddressInfo, Socket } from 'node:net'

const FULL_BYTES = 256 * 1024 * 1024
const SMOKE_BYTES = 4 * 1024 * 1024

async function peer (listenTcp: boolean): Promise<PeerLibp2p> {
  const node = await createPeerLibp2p({ privateKey: await generateKeyPair('Ed25519'), relays: listenTcp ? 0 : 1, listenTcp, allowPrivateAddresses: true })
  await node.start()
  return node
}

/** Bytes/s of one libp2p transfer from `sender` to `receiver` dialled at `address`. */
async function libp2pTransfer (sender: PeerLibp2p, receiver: PeerLibp2p, address: string, bytes: number): Promise<number> {
  const done = new Promise<void>((resolve, reject) => {
    void receiver.handle(BENCH_PROTOCOL, async (stream) => { await receiveBytes(stream, bytes).then(resolve, reject) }, { runOnLimitedConnection: true, force: true })
  })
  const signal = AbortSignal.timeout(600_000)
  const started = performance.now()
  const stream = await sender.dialProtocol(multiaddr(address), BENCH_PROTOCOL, { signal, runOnLimitedConnection: true })
  await sendBytes(stream, bytes, signal)
  await done
  return bytes / ((performance.now() - started) / 1000)
}

/** Bytes/s of one plain TCP transfer through `port` to the counting server. */
async function tcpTransfer (port: number, bytes: number, server: { next: () => Promise<Socket> }): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024)
  const started = performance.now()
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const accepted = server.next()
  const acked = once(socket, 'data')
  void (async () => {
    const remote = await accepted
    let received = 0
    remote.on('data', (data: Buffer) => {
      received += data.byteLength
      if (received >= bytes) remote.end(Buffer.of(1))
    })
  })()
  let sent = 0
  while (sent < bytes) {
    const size = Math.min(chunk.byteLength, bytes - sent)
    if (!socket.write(size === chunk.byteLength ? chunk : chunk.subarray(0, size))) await once(socket, 'drain')
    sent += size
  }
  await acked
  const rate = bytes / ((performance.now() - started) / 1000)
  socket.destroy()
  return rate
}

/**
 * Relay throughput: bytes/s between two peers through one anchor's relay, against a plain
 * Node TCP proxy and a direct libp2p connection, in the same run. Each path runs `runs`
 * times; medians are reported with the relay's and proxy's RSS afterwards.
 */
export async function relayThroughput (context: BenchContext): Promise<BenchResult> {
  const bytes = context.smoke ? SMOKE_BYTES : FULL_BYTES
  const runs = context.smoke ? 1 : 3
  const dir = await mkdtemp(join(tmpdir(), 'meganet-bench-'))
  const anchor = await AnchorChild.spawn({
    dataDir: dir,
    flags: { 'relay-circuit-data-limit': 'unlimited', 'relay-circuit-duration-limit': 'unlimited', roles: 'bootstrap,relay', 'shutdown-grace': '1s' }
  })
  const accepted: Socket[] = []
  const waiting: Array<(socket: Socket) => void> = []
  const sink = createServer(socket => { const w = waiting.shift(); if (w != null) w(socket); else accepted.push(socket) })
  sink.listen(0, '127.0.0.1')
  await once(sink, 'listening')
  const proxy = await startTcpProxy((sink.address() as AddressInfo).port)
  const server = { next: async () => await new Promise<Socket>(resolve => { const s = accepted.shift(); if (s != null) resolve(s); else waiting.push(resolve) }) }
  const receiver = await peer(false)
  const sender = await peer(true)
  const direct = await peer(true)
  try {
    await receiver.dial(multiaddr(anchor.tcpAddress))
    const deadline = Date.now() + 20_000
    let circuit: string | undefined
    while (circuit == null && Date.now() < deadline) {
      circuit = receiver.getMultiaddrs().map(a => a.toString()).find(a => a.includes('/p2p-circuit'))
      if (circuit == null) await new Promise(resolve => setTimeout(resolve, 100))
    }
    if (circuit == null) throw new Error('the receiver got no relay reservation')
    const directAddress = direct.getMultiaddrs().map(a => a.toString()).find(a => a.includes('/tcp/') && a.includes('127.0.0.1'))
    if (directAddress == null) throw new Error('no direct TCP address')
    const relayRates: number[] = []
    const proxyRates: number[] = []
    const directRates: number[] = []
    let relayCpu = 0
    let relayWall = 0
    let proxyCpu = 0
    let proxyWall = 0
    const relayPid = anchor.child.pid ?? 0
    const proxyPid = proxy.child.pid ?? 0
    for (let run = 0; run < runs; run++) {
      context.progress(`run ${run + 1}/${runs}: relay`)
      const cpuBefore = await cpuSeconds(relayPid)
      const wallBefore = performance.now()
      relayRates.push(await libp2pTransfer(sender, receiver, circuit, bytes))
      relayCpu += await cpuSeconds(relayPid) - cpuBefore
      relayWall += (performance.now() - wallBefore) / 1000
      context.progress(`run ${run + 1}/${runs}: tcp proxy`)
      const proxyCpuBefore = await cpuSeconds(proxyPid)
      const proxyWallBefore = performance.now()
      proxyRates.push(await tcpTransfer(proxy.port, bytes, server))
      proxyCpu += await cpuSeconds(proxyPid) - proxyCpuBefore
      proxyWall += (performance.now() - proxyWallBefore) / 1000
      context.progress(`run ${run + 1}/${runs}: direct libp2p`)
      directRates.push(await libp2pTransfer(sender, direct, directAddress, bytes))
    }
    const relay = quantile(relayRates, 0.5)
    const tcpProxy = quantile(proxyRates, 0.5)
    const directRate = quantile(directRates, 0.5)
    // What forwarding one byte costs, apart from how fast the endpoints can go: the relay
    // decrypts and re-encrypts every byte (Noise on each hop), the proxy only copies it.
    // /proc counts CPU in 10 ms ticks: a short smoke run may round to none.
    const tick = 0.01
    const relayBytesPerCpuSecond = runs * bytes / Math.max(relayCpu, tick)
    const proxyBytesPerCpuSecond = runs * bytes / Math.max(proxyCpu, tick)
    return {
      name: 'relay-throughput',
      summary: `relay ${(relay / 1e6).toFixed(1)} MB/s = ${(relay / tcpProxy * 100).toFixed(1)}% of a plain TCP proxy (${(tcpProxy / 1e6).toFixed(1)} MB/s) and ${(relay / directRate * 100).toFixed(1)}% of direct libp2p (${(directRate / 1e6).toFixed(1)} MB/s); goal ≥ 50% of the proxy. ` +
        `Per CPU second the relay forwards ${(relayBytesPerCpuSecond / 1e6).toFixed(0)} MB and the proxy ${(proxyBytesPerCpuSecond / 1e6).toFixed(0)} MB (${(relayBytesPerCpuSecond / proxyBytesPerCpuSecond * 100).toFixed(1)}%); ` +
        `the relay process was ${(relayCpu / relayWall).toFixed(2)} cores busy while relaying`,
      metrics: {
        bytesPerTransfer: bytes,
        runs,
        relayBytesPerSecond: relay,
        tcpProxyBytesPerSecond: tcpProxy,
        directLibp2pBytesPerSecond: directRate,
        relayToProxyRatio: relay / tcpProxy,
        relayToDirectRatio: relay / directRate,
        /** CPU seconds the relay process used per wall second while relaying (1 = one core busy). */
        relayCpuCoresBusy: relayCpu / relayWall,
        proxyCpuCoresBusy: Math.max(proxyCpu, tick) / proxyWall,
        relayBytesPerCpuSecond,
        proxyBytesPerCpuSecond,
        relayToProxyCpuEfficiency: relayBytesPerCpuSecond / proxyBytesPerCpuSecond,
        relayRssBytesAfter: anchor.child.pid != null ? await residentBytes(anchor.child.pid) : 0,
        proxyRssBytesAfter: proxy.child.pid != null ? await residentBytes(proxy.child.pid) : 0
      },
      goalMet: relay / tcpProxy >= 0.5
    }
  } finally {
    await Promise.all([receiver.stop(), sender.stop(), direct.stop()])
    proxy.child.kill('SIGKILL')
    sink.close()
    for (const socket of accepted) socket.destroy()
    // SIGTERM, so a profiled anchor (NODE_OPTIONS=--cpu-prof) writes its profile.
    await anchor.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
