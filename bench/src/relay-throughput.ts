import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { AnchorChild, createPeerLibp2p } from '@meganet/node/testing'
import { findGoRelay, startGoRelay } from './go-relay.js'
import { podHeapEnv } from './pod-heap.js'
import { cpuSeconds, residentBytes } from './process-usage.js'
import { sealMBPerCpuSecond } from './seal-probe.js'
import { quantile } from './stats.js'
import { BENCH_PROTOCOL, receiveBytes, sendBytes } from './stream-transfer.js'
import { startTcpProxy } from './tcp-proxy.js'
import type { BenchContext, BenchResult } from './bench-types.js'
import type { PeerLibp2p } from '@meganet/node/testing'
import type { AddressInfo, Socket } from 'node:net'

const FULL_BYTES = 256 * 1024 * 1024
const SMOKE_BYTES = 4 * 1024 * 1024
/** Untimed transfers through each path before the timed runs (docs/BENCHMARKS.md, relay, 2026-12-07 late). */
const WARM_UP_TRANSFERS = 2
/** The chart's default anchor pod: the relay runs with the heap flags the fleet workload gives it. */
const ANCHOR_MEMORY_BYTES = 1024 ** 3

/**
 * go-libp2p relays with its stock 2 KiB copy buffer and with a 64 KiB one: the stock buffer
 * makes every relayed frame small, which costs the js endpoints far more per byte.
 */
const GO_RELAY_VARIANTS = [
  { name: 'goRelayStock', args: [] },
  { name: 'goRelayBuffer64k', args: ['--buffer-size', '65536'] }
] as const

/** `cpu`: the relay process's CPU seconds; `endpointsCpu`: this process's, which runs both endpoints. */
interface RelayPath { readonly name: string, readonly pid: number, readonly circuit: string, readonly rates: number[], cpu: number, endpointsCpu: number, wall: number }

/** Connects `receiver` to the relay at `address` and waits for its circuit address there. */
async function reserveOn (receiver: PeerLibp2p, address: string): Promise<string> {
  const relayId = address.slice(address.lastIndexOf('/p2p/') + 5)
  await receiver.dial(multiaddr(address))
  const deadline = Date.now() + 20_000
  for (;;) {
    const circuit = receiver.getMultiaddrs().map(a => a.toString()).find(a => a.includes(`/p2p/${relayId}/p2p-circuit`))
    if (circuit != null) return circuit
    if (Date.now() > deadline) throw new Error(`the receiver got no relay reservation on ${address}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

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
 * Node TCP proxy, a direct libp2p connection and (when built) go-libp2p's relay, in the same
 * run. After untimed warm-up transfers, each path runs `runs` times, interleaved; medians are
 * reported with each relay's CPU per byte and RSS afterwards, and what the first transfer after
 * the relay's start cost.
 */
export async function relayThroughput (context: BenchContext): Promise<BenchResult> {
  const bytes = context.smoke ? SMOKE_BYTES : FULL_BYTES
  const runs = context.smoke ? 1 : 3
  const warmUps = context.smoke ? 1 : WARM_UP_TRANSFERS
  const dir = await mkdtemp(join(tmpdir(), 'meganet-bench-'))
  const anchor = await AnchorChild.spawn({
    dataDir: dir,
    env: podHeapEnv(ANCHOR_MEMORY_BYTES),
    flags: { 'relay-circuit-data-limit': 'unlimited', 'relay-circuit-duration-limit': 'unlimited', roles: 'bootstrap,relay', 'shutdown-grace': '1s' }
  })
  const goBinary = findGoRelay()
  if (goBinary == null) context.progress('no go-libp2p relay comparator: set MEGANET_GO_RELAY (npm run bench builds it with test/tools/install-go-relay.sh)')
  const goRelays = goBinary == null ? [] : await Promise.all(GO_RELAY_VARIANTS.map(async variant => ({ ...variant, relay: await startGoRelay(goBinary, variant.args) })))
  const accepted: Socket[] = []
  const waiting: Array<(socket: Socket) => void> = []
  const sink = createServer(socket => { const w = waiting.shift(); if (w != null) w(socket); else accepted.push(socket) })
  sink.listen(0, '127.0.0.1')
  await once(sink, 'listening')
  const proxy = await startTcpProxy((sink.address() as AddressInfo).port)
  const server = { next: async () => await new Promise<Socket>(resolve => { const s = accepted.shift(); if (s != null) resolve(s); else waiting.push(resolve) }) }
  const receivers = await Promise.all([anchor, ...goRelays].map(async () => await peer(false)))
  const sender = await peer(true)
  const direct = await peer(true)
  try {
    const relayAddresses = [{ name: 'relay', pid: anchor.child.pid ?? 0, address: anchor.tcpAddress }, ...goRelays.map(g => ({ name: g.name, pid: g.relay.child.pid ?? 0, address: g.relay.address }))]
    const paths: RelayPath[] = []
    for (const [i, target] of relayAddresses.entries()) {
      paths.push({ name: target.name, pid: target.pid, circuit: await reserveOn(receivers[i] as PeerLibp2p, target.address), rates: [], cpu: 0, endpointsCpu: 0, wall: 0 })
    }
    const directAddress = direct.getMultiaddrs().map(a => a.toString()).find(a => a.includes('/tcp/') && a.includes('127.0.0.1'))
    if (directAddress == null) throw new Error('no direct TCP address')
    const proxyPath = { rates: [] as number[], cpu: 0, wall: 0 }
    const directRates: number[] = []
    let directEndpointsCpu = 0
    // Untimed transfers first, through every path alike (the relays, the proxy, direct): our
    // relay's first transfer after its start cost about 3× the fast later ones' CPU, a price later
    // transfers pay only sometimes (docs/BENCHMARKS.md). What the first one cost is still reported.
    const firstTransferPerCpu = new Map<string, number>()
    for (let warmUp = 0; warmUp < warmUps; warmUp++) {
      context.progress(`warm-up ${warmUp + 1}/${warmUps}`)
      for (const [i, path] of paths.entries()) {
        const cpuBefore = await cpuSeconds(path.pid)
        await libp2pTransfer(sender, receivers[i] as PeerLibp2p, path.circuit, bytes)
        if (warmUp === 0) firstTransferPerCpu.set(path.name, bytes / Math.max(await cpuSeconds(path.pid) - cpuBefore, 0.01))
      }
      await tcpTransfer(proxy.port, bytes, server)
      await libp2pTransfer(sender, direct, directAddress, bytes)
    }
    const sealBefore = await sealMBPerCpuSecond()
    const proxyPid = proxy.child.pid ?? 0
    for (let run = 0; run < runs; run++) {
      for (const [i, path] of paths.entries()) {
        context.progress(`run ${run + 1}/${runs}: ${path.name}`)
        const cpuBefore = await cpuSeconds(path.pid)
        const endpointsBefore = await cpuSeconds(process.pid)
        const wallBefore = performance.now()
        path.rates.push(await context.phase(`${path.name} run ${run + 1}`, async () => await libp2pTransfer(sender, receivers[i] as PeerLibp2p, path.circuit, bytes)))
        const cpu = await cpuSeconds(path.pid) - cpuBefore
        path.cpu += cpu
        context.progress(`run ${run + 1}/${runs}: ${path.name}: ${(bytes / 1e6 / Math.max(cpu, 0.01)).toFixed(1)} MB per CPU second`)
        path.endpointsCpu += await cpuSeconds(process.pid) - endpointsBefore
        path.wall += (performance.now() - wallBefore) / 1000
      }
      context.progress(`run ${run + 1}/${runs}: tcp proxy`)
      const cpuBefore = await cpuSeconds(proxyPid)
      const wallBefore = performance.now()
      proxyPath.rates.push(await tcpTransfer(proxy.port, bytes, server))
      proxyPath.cpu += await cpuSeconds(proxyPid) - cpuBefore
      proxyPath.wall += (performance.now() - wallBefore) / 1000
      context.progress(`run ${run + 1}/${runs}: direct libp2p`)
      const endpointsBefore = await cpuSeconds(process.pid)
      directRates.push(await context.phase(`direct libp2p run ${run + 1}`, async () => await libp2pTransfer(sender, direct, directAddress, bytes)))
      directEndpointsCpu += await cpuSeconds(process.pid) - endpointsBefore
    }
    const sealAfter = await sealMBPerCpuSecond()
    // /proc counts CPU in 10 ms ticks: a short smoke run may round to none.
    const tick = 0.01
    // What forwarding one byte costs, apart from how fast the endpoints can go: a libp2p relay
    // decrypts and re-encrypts every byte (Noise on each hop), the proxy only copies it.
    const perCpuSecond = (cpu: number): number => runs * bytes / Math.max(cpu, tick)
    const tcpProxy = quantile(proxyPath.rates, 0.5)
    const proxyPerCpu = perCpuSecond(proxyPath.cpu)
    const directRate = quantile(directRates, 0.5)
    const [ours] = paths
    if (ours == null) throw new Error('no relay path')
    const relay = quantile(ours.rates, 0.5)
    // Both endpoints run in this process: what they spend per MB says how fast they could go.
    // Over a relay each encrypts every byte twice (the relayed connection's Noise inside the
    // hop's), so relayed ÷ direct cannot pass direct's cost ÷ relayed's while they are the limit.
    const msPerMB = (cpu: number): number => Math.max(cpu, tick) * 1000 / (runs * bytes / 1e6)
    const relayPerCpu = perCpuSecond(ours.cpu)
    const metrics: Record<string, number> = {
      bytesPerTransfer: bytes,
      runs,
      tcpProxyBytesPerSecond: tcpProxy,
      directLibp2pBytesPerSecond: directRate,
      proxyBytesPerCpuSecond: proxyPerCpu,
      proxyCpuCoresBusy: Math.max(proxyPath.cpu, tick) / proxyPath.wall,
      sealProbeBeforeMBPerCpuSecond: sealBefore,
      sealProbeAfterMBPerCpuSecond: sealAfter,
      proxyRssBytesAfter: proxyPid !== 0 ? await residentBytes(proxyPid) : 0,
      directEndpointsCpuMsPerMB: msPerMB(directEndpointsCpu)
    }
    for (const path of paths) {
      const rate = quantile(path.rates, 0.5)
      metrics[`${path.name}BytesPerSecond`] = rate
      metrics[`${path.name}ToProxyRatio`] = rate / tcpProxy
      metrics[`${path.name}ToDirectRatio`] = rate / directRate
      metrics[`${path.name}BytesPerCpuSecond`] = perCpuSecond(path.cpu)
      /** CPU seconds the relay process used per wall second while relaying (1 = one core busy). */
      metrics[`${path.name}CpuCoresBusy`] = Math.max(path.cpu, tick) / path.wall
      metrics[`${path.name}RssBytesAfter`] = path.pid !== 0 ? await residentBytes(path.pid) : 0
      metrics[`${path.name}EndpointsCpuMsPerMB`] = msPerMB(path.endpointsCpu)
      const first = firstTransferPerCpu.get(path.name)
      if (first != null) metrics[`${path.name}FirstTransferBytesPerCpuSecond`] = first
      if (path !== ours) {
        const suffix = `${path.name.slice(0, 1).toUpperCase()}${path.name.slice(1)}Ratio`
        metrics[`relayTo${suffix}`] = relay / rate
        metrics[`relayPerCpuTo${suffix}`] = relayPerCpu / perCpuSecond(path.cpu)
        const ourFirst = firstTransferPerCpu.get(ours.name)
        if (ourFirst != null && first != null) metrics[`relayFirstPerCpuTo${suffix}`] = ourFirst / first
      }
    }
    const endpointsCostRatio = msPerMB(ours.endpointsCpu) / msPerMB(directEndpointsCpu)
    metrics.relayedToDirectEndpointsCpuRatio = endpointsCostRatio
    // Issue 17's goals: per CPU second at least go-libp2p's relay with a 64 KiB buffer, and
    // relayed throughput at least 0.6 of direct.
    const goPerCpuRatio = metrics.relayPerCpuToGoRelayBuffer64kRatio
    const relayedToDirect = relay / directRate
    const mb = (value: number): string => (value / 1e6).toFixed(1)
    const goText = paths.slice(1).map(p => `${p.name} ${mb(quantile(p.rates, 0.5))} MB/s (${mb(perCpuSecond(p.cpu))} MB per CPU second)`).join(', ')
    return {
      name: 'relay-throughput',
      summary: `relay ${mb(relay)} MB/s = ${(relayedToDirect * 100).toFixed(1)}% of direct libp2p (${mb(directRate)} MB/s; goal ≥ 60%) and ${(relay / tcpProxy * 100).toFixed(1)}% of a plain TCP proxy (${mb(tcpProxy)} MB/s). ` +
        `Per CPU second the relay forwards ${mb(relayPerCpu)} MB` + (goPerCpuRatio == null ? '' : `, ${goPerCpuRatio.toFixed(2)}x go-libp2p's relay with a 64 KiB buffer (goal ≥ 1.0)`) +
        `, and the proxy ${mb(proxyPerCpu)} MB; ` +
        (metrics.relayFirstTransferBytesPerCpuSecond == null ? '' : `the first transfer after the relay's start, untimed: ${mb(metrics.relayFirstTransferBytesPerCpuSecond)} MB per CPU second` +
          (metrics.relayFirstPerCpuToGoRelayBuffer64kRatio == null ? '' : ` (${metrics.relayFirstPerCpuToGoRelayBuffer64kRatio.toFixed(2)}x go-libp2p's first)`) + '; ') +
        `the endpoints spent ${msPerMB(ours.endpointsCpu).toFixed(1)} ms of CPU per MB relayed and ${msPerMB(directEndpointsCpu).toFixed(1)} direct (${endpointsCostRatio.toFixed(2)}x); ` +
        (goText === '' ? 'go-libp2p relay not run' : `go-libp2p: ${goText}`),
      metrics,
      goalMet: relayedToDirect >= 0.6 && goPerCpuRatio != null && goPerCpuRatio >= 1
    }
  } finally {
    await Promise.all([...receivers, sender, direct].map(async node => { await node.stop() }))
    proxy.child.kill('SIGKILL')
    for (const go of goRelays) go.relay.child.kill('SIGTERM')
    sink.close()
    for (const socket of accepted) socket.destroy()
    // SIGTERM, so a profiled anchor (NODE_OPTIONS=--cpu-prof) writes its profile.
    await anchor.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
