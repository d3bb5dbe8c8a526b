import { randomBytes } from 'node:crypto'
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { replicaCounts, startTransferGc } from '@meganet/node/testing'
import { getFile, putFile } from '@meganet/node/files'
import { MeganetPeer } from '@meganet/node/peer'
import { BenchFleet } from './bench-fleet.js'
import { podHeapEnv } from './pod-heap.js'
import { sealMBPerCpuSecond } from './seal-probe.js'
import { cpuSeconds, cpuSecondsOf } from './process-usage.js'
import type { BenchContext, BenchResult } from './bench-types.js'
import type { AnchorChild, TransferGc } from '@meganet/node/testing'
import type { BlockTransport } from '@meganet/node/files'
import type { CID } from 'multiformats/cid'
import type { ChildProcess } from 'node:child_process'

const ANCHORS = 4
const REPLICATION = 3
const FULL_BYTES = 256 * 1024 * 1024
/**
 * An untimed put and get of another file before the timed ones, as the relay benchmark warms up,
 * so that both measure anchors that have been running (docs/BENCHMARKS.md, storage, 2026-12-07
 * late). What the first put and get cost is still reported.
 */
const WARM_UP_BYTES = 256 * 1024 * 1024
/** A last file put before the kill, so the fleet holds the 1 GiB when an anchor is lost. */
const FULL_EXTRA_BYTES = 1024 * 1024 * 1024 - WARM_UP_BYTES - FULL_BYTES
const SMOKE_BYTES = 2 * 1024 * 1024
const REPAIR_TIMEOUT_MS = 600_000
const FILL_BLOCK = 16 * 1024 * 1024
/** The chart's default anchor memory limit, which sizes the anchor's heap. */
const ANCHOR_MEMORY_BYTES = 1024 ** 3
/** Issue 17's goals for a 256 MiB file on this fleet. */
const GOAL_PUT_BYTES_PER_SECOND = 100e6
const GOAL_GET_BYTES_PER_SECOND = 200e6

interface StorageStatus { storage: { blocks: number, storedBytes: number } }

async function randomFile (path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'w')
  try {
    for (let written = 0; written < bytes; written += FILL_BLOCK) await handle.write(randomBytes(Math.min(FILL_BLOCK, bytes - written)))
  } finally {
    await handle.close()
  }
}

/** Bytes/s of writing `data` to `path` and fsyncing it, then of reading it back. */
async function diskRates (path: string, data: Buffer): Promise<{ write: number, read: number }> {
  let t0 = performance.now()
  await writeFile(path, data)
  const handle = await open(path, 'r+')
  await handle.sync()
  await handle.close()
  const write = data.byteLength / ((performance.now() - t0) / 1000)
  t0 = performance.now()
  const back = await readFile(path)
  const read = back.byteLength / ((performance.now() - t0) / 1000)
  return { write, read }
}

interface TransferInit {
  /** Labels the put and get phases (`--profile`) and names the scratch files. */
  readonly label: string
  readonly put: BlockTransport
  readonly get: BlockTransport
  readonly anchors: readonly ChildProcess[]
  readonly dir: string
  readonly phase: BenchContext['phase']
  /** Resolves once every block put so far is on R anchors: a put answers at W=2, and the third replicas must not land during the get. */
  readonly replicated: () => Promise<void>
}

interface Transfer {
  readonly putBytesPerSecond: number
  readonly getBytesPerSecond: number
  /** CPU seconds per wall second while putting and getting (1 = one core busy). */
  readonly putAnchorsCores: number
  readonly putPeerCores: number
  readonly getAnchorsCores: number
  readonly getPeerCores: number
}

/** Puts `file`, waits for its blocks to be on R anchors, gets it back and checks the bytes: the put's and the get's rates, and the CPU the anchors and this process (the peer) used. */
async function putAndGet (file: string, init: TransferInit): Promise<Transfer> {
  const bytes = (await stat(file)).size
  const measure = async <T>(phase: string, run: () => Promise<T>): Promise<{ value: T, rate: number, anchorsCores: number, peerCores: number }> => {
    const anchors0 = await cpuSecondsOf(init.anchors)
    const peer0 = await cpuSeconds(process.pid)
    const started = performance.now()
    const value = await init.phase(phase, run)
    const seconds = (performance.now() - started) / 1000
    return { value, rate: bytes / seconds, anchorsCores: (await cpuSecondsOf(init.anchors) - anchors0) / seconds, peerCores: (await cpuSeconds(process.pid) - peer0) / seconds }
  }
  const put = await measure(`${init.label} put`, async () => await putFile(file, init.put))
  await init.replicated()
  const got = join(init.dir, `${init.label}-got.bin`)
  const get = await measure(`${init.label} get`, async () => await getFile(put.value.link, init.get, got))
  if (!(await readFile(got)).equals(await readFile(file))) throw new Error(`getFile returned different bytes for the ${init.label} file`)
  await rm(got)
  return {
    putBytesPerSecond: put.rate,
    getBytesPerSecond: get.rate,
    putAnchorsCores: put.anchorsCores,
    putPeerCores: put.peerCores,
    getAnchorsCores: get.anchorsCores,
    getPeerCores: get.peerCores
  }
}

/**
 * Storage: put/get MB/s of a file through one peer into a fleet of four anchors (R=3, W=2),
 * after an untimed put and get of another file, against writing and reading the same bytes on
 * the local disk; then the time until every block is back on R live anchors after one anchor
 * is killed with SIGKILL.
 */
export async function storage (context: BenchContext): Promise<BenchResult> {
  const bytes = context.smoke ? SMOKE_BYTES : FULL_BYTES
  context.progress(`starting NATS and ${ANCHORS} storage anchors`)
  // The anchors run with the heap flags of the chart's default pod (1 GiB), as they are deployed.
  const fleet = await BenchFleet.start(ANCHORS, {
    'storage-repair-interval': '1s', 'storage-replication': String(REPLICATION), 'storage-write-quorum': '2', 'storage-peer-rate': 'unlimited',
    // One peer stores the whole GiB: the per-peer and per-network limits would (rightly) stop it.
    'storage-peer-quota': 'unlimited', 'storage-prefix-quota': 'unlimited', 'storage-prefix-rate': 'unlimited', 'storage-prefix-share': '1',
    'storage-peer-lease-quota': 'unlimited'
  }, podHeapEnv(ANCHOR_MEMORY_BYTES))
  const dir = await mkdtemp(join(tmpdir(), 'meganet-bench-storage-'))
  let peer: MeganetPeer | undefined
  let transferGc: TransferGc | undefined
  try {
    const source = join(dir, 'source.bin')
    await randomFile(source, bytes)
    const warmUpBytes = context.smoke ? SMOKE_BYTES : WARM_UP_BYTES
    const warmUpFile = join(dir, 'warm-up.bin')
    await randomFile(warmUpFile, warmUpBytes)
    const data = await readFile(source)
    context.progress('local disk write+fsync and read')
    const disk = await diskRates(join(dir, 'disk-copy.bin'), data)
    const sealBefore = await sealMBPerCpuSecond()

    peer = await MeganetPeer.create({ anchors: fleet.anchors.map(a => a.tcpAddress), allowPrivateAddresses: true })
    await peer.start()
    // The peer puts and gets as `meganet peer put/get` does.
    transferGc = startTransferGc('peer')
    const blocks = peer.blocks()
    const cids: CID[] = []
    const recording: BlockTransport = {
      put: async (cid, block, options) => { cids.push(cid); await blocks.put(cid, block, options) },
      // The peer's own get, which checks each block (getFile then does not hash it again).
      get: blocks.get
    }

    const replicated = async (): Promise<boolean> => (await replicaCounts((peer as MeganetPeer).node, fleet.anchors.filter(a => a.running).map(a => a.peerId), cids)).every(n => n >= REPLICATION)
    const untilReplicated = async (timeoutMessage: string, pollMs: number): Promise<void> => {
      const deadline = Date.now() + REPAIR_TIMEOUT_MS
      while (!(await replicated())) {
        if (Date.now() > deadline) throw new Error(timeoutMessage)
        await new Promise(resolve => setTimeout(resolve, pollMs))
      }
    }
    const transferInit = {
      put: recording,
      get: blocks,
      anchors: fleet.anchors.map(a => a.child),
      dir,
      phase: context.phase,
      replicated: async () => { await untilReplicated('blocks never reached R after a put', 250) }
    }

    context.progress(`warm-up: putFile and getFile of ${warmUpBytes} other bytes`)
    const warmUp = await putAndGet(warmUpFile, { ...transferInit, label: 'warm-up' })
    await rm(warmUpFile)

    context.progress(`putFile and getFile of ${bytes} bytes`)
    const timed = await putAndGet(source, { ...transferInit, label: 'timed' })
    const putRate = timed.putBytesPerSecond
    const getRate = timed.getBytesPerSecond

    const extraBytes = context.smoke ? 0 : FULL_EXTRA_BYTES
    if (extraBytes > 0) {
      context.progress(`putFile ${extraBytes} more bytes before the kill`)
      const extra = join(dir, 'extra.bin')
      await randomFile(extra, extraBytes)
      await putFile(extra, recording)
      await rm(extra)
    }
    context.progress(`waiting for all ${cids.length} blocks on R=${REPLICATION} anchors`)
    await untilReplicated('blocks never reached R before the kill', 500)

    // The victim is the anchor holding the most bytes, so that it always held some.
    const statuses = await Promise.all(fleet.anchors.map(async a => await (await fetch(a.url('/status'))).json() as StorageStatus))
    const most = statuses.reduce((best, s, i) => s.storage.storedBytes > (statuses[best]?.storage.storedBytes ?? -1) ? i : best, 0)
    const victim = fleet.anchors[most] as AnchorChild
    const status = statuses[most] as StorageStatus
    context.progress(`SIGKILL of an anchor holding ${status.storage.blocks} blocks (${status.storage.storedBytes} bytes)`)
    const survivors = fleet.anchors.filter(a => a !== victim)
    const cpu0 = await cpuSecondsOf(survivors.map(a => a.child))
    const t0 = performance.now()
    await victim.stop('SIGKILL')
    await untilReplicated(`R=${REPLICATION} not restored within ${REPAIR_TIMEOUT_MS} ms`, 250)
    const repairSeconds = (performance.now() - t0) / 1000
    const repairAnchorCpu = (await cpuSecondsOf(survivors.map(a => a.child)) - cpu0) / repairSeconds
    const sealAfter = await sealMBPerCpuSecond()

    return {
      name: 'storage',
      summary: `${(bytes / 2 ** 20).toFixed(0)} MiB file, ${ANCHORS} anchors R=${REPLICATION} W=2: put ${(putRate / 1e6).toFixed(1)} MB/s (goal ≥ ${GOAL_PUT_BYTES_PER_SECOND / 1e6}; ` +
        `${(putRate / disk.write * 100).toFixed(1)}% of disk write+fsync ${(disk.write / 1e6).toFixed(0)} MB/s), get ${(getRate / 1e6).toFixed(1)} MB/s (goal ≥ ${GOAL_GET_BYTES_PER_SECOND / 1e6}; ` +
        `${(getRate / disk.read * 100).toFixed(1)}% of disk read ${(disk.read / 1e6).toFixed(0)} MB/s); R restored ${repairSeconds.toFixed(1)} s after SIGKILL of an anchor ` +
        `holding ${(status.storage.storedBytes / 2 ** 20).toFixed(1)} MiB of ${((warmUpBytes + bytes + extraBytes) / 2 ** 20).toFixed(0)} MiB put` +
        `; the first put and get after the anchors' start (the untimed warm-up): ${(warmUp.putBytesPerSecond / 1e6).toFixed(1)} and ${(warmUp.getBytesPerSecond / 1e6).toFixed(1)} MB/s`,
      metrics: {
        fileBytes: bytes,
        bytesPutBeforeKill: warmUpBytes + bytes + extraBytes,
        firstPutBytesPerSecond: warmUp.putBytesPerSecond,
        firstGetBytesPerSecond: warmUp.getBytesPerSecond,
        firstPutAnchorsCpuCoresBusy: warmUp.putAnchorsCores,
        firstGetAnchorsCpuCoresBusy: warmUp.getAnchorsCores,
        blocks: cids.length,
        putBytesPerSecond: putRate,
        getBytesPerSecond: getRate,
        diskWriteFsyncBytesPerSecond: disk.write,
        diskReadBytesPerSecond: disk.read,
        putToDiskWriteRatio: putRate / disk.write,
        getToDiskReadRatio: getRate / disk.read,
        putAnchorsCpuCoresBusy: timed.putAnchorsCores,
        putPeerProcessCpuCoresBusy: timed.putPeerCores,
        getAnchorsCpuCoresBusy: timed.getAnchorsCores,
        getPeerProcessCpuCoresBusy: timed.getPeerCores,
        lostAnchorBytes: status.storage.storedBytes,
        lostAnchorBlocks: status.storage.blocks,
        repairSeconds,
        repairAnchorsCpuCoresBusy: repairAnchorCpu,
        sealProbeBeforeMBPerCpuSecond: sealBefore,
        sealProbeAfterMBPerCpuSecond: sealAfter
      },
      ...(context.smoke ? {} : { goalMet: putRate >= GOAL_PUT_BYTES_PER_SECOND && getRate >= GOAL_GET_BYTES_PER_SECOND })
    }
  } finally {
    transferGc?.stop()
    await peer?.stop().catch(() => {})
    await fleet.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
