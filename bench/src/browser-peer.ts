import { randomBytes } from 'node:crypto'
import { Devnet, findNatsServer } from '@meganet/node/testing'
import { MeganetPeer } from '@meganet/node/peer'
import { getBlob, putBlob } from '@meganet/node/files'
import { launchChromium } from './browser/chromium.js'
import { TestNetwork } from './browser/netns.js'
import { quantile } from './stats.js'
import type { BenchContext, BenchResult } from './bench-types.js'

/** Issue 12's goals: a browser peer joins (connect + reserve) in 1 s at p50; page-to-Node files at half Node-to-Node's rate or better. */
const JOIN_GOAL_MS = 1000
const THROUGHPUT_GOAL_RATIO = 0.5

/** The page's side, run in Chromium with the library bundle the web app serves (meganet.js). */
const PAGE_JOIN = `async ({ anchors }) => {
  const { MeganetPeer } = await import('/meganet.js')
  const started = performance.now()
  const peer = await MeganetPeer.create({ anchors, allowPrivateAddresses: true })
  await peer.start()
  const joinMs = performance.now() - started
  window.benchPeer = peer
  return joinMs
}`

const PAGE_PUT = `async ({ bytes }) => {
  const { putBlob } = await import('/meganet.js')
  const data = new Uint8Array(bytes)
  for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(i + 65536, bytes)))
  const digest = [...new Uint8Array(await crypto.subtle.digest('SHA-256', data))].map(b => b.toString(16).padStart(2, '0')).join('')
  const started = performance.now()
  const result = await putBlob(new Blob([data]), window.benchPeer.blocks(), { name: 'bench.bin' })
  return { link: result.link, putMs: performance.now() - started, digest }
}`

function mbps (bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000)
}

/**
 * `browser-peer`: join latency of a browser peer (the library bundle in headless Chromium, over
 * WebRTC-direct to one anchor: connect, identify, relay reservation) against a Node peer's over
 * TCP, and a file moved page -> anchors -> Node peer against Node peer -> anchors -> Node peer,
 * side by side on one three-anchor devnet (R=3, W=2).
 */
export async function browserPeer (context: BenchContext): Promise<BenchResult> {
  const joins = context.smoke ? 2 : 20
  const fileBytes = context.smoke ? 1024 * 1024 : 32 * 1024 * 1024
  const natsServer = findNatsServer()
  if (natsServer == null) throw new Error('no nats-server: run test/tools/install-nats-server.sh or set MEGANET_NATS_SERVER')
  const network = await TestNetwork.create()
  let devnet: Devnet | undefined
  const peers: MeganetPeer[] = []
  try {
    devnet = await Devnet.start({ anchors: 3, host: network.hostAddress, natsServer, web: { host: network.hostAddress, port: 0 }, anchorFlags: { 'shutdown-grace': '1s', 'storage-peer-rate': 'unlimited' } })
    const origin = new URL(devnet.web!.url).origin
    const secure = await launchChromium({ network, secureOrigins: [origin] })
    try {
      const webrtc = devnet.anchors[0]!.multiaddrs.find(a => a.includes('/webrtc-direct/'))!
      const pageJoins: number[] = []
      for (let i = 0; i < joins; i++) {
        const page = await (await secure.newContext()).newPage()
        await page.goto(devnet.web!.url)
        pageJoins.push(await page.evaluate<number>(`(${PAGE_JOIN})(${JSON.stringify({ anchors: [webrtc] })})`))
        if (i < joins - 1) await page.context().close()
      }
      context.progress(`browser joins p50 ${quantile(pageJoins, 0.5).toFixed(0)} ms`)
      const nodeJoins: number[] = []
      for (let i = 0; i < joins; i++) {
        const started = performance.now()
        const peer = await MeganetPeer.create({ anchors: [devnet.anchors[0]!.tcpAddress], allowPrivateAddresses: true })
        await peer.start()
        nodeJoins.push(performance.now() - started)
        await peer.stop()
      }
      const receiver = await MeganetPeer.create({ anchors: [devnet.anchors[2]!.tcpAddress], allowPrivateAddresses: true })
      const sender = await MeganetPeer.create({ anchors: [devnet.anchors[0]!.tcpAddress], allowPrivateAddresses: true })
      peers.push(receiver, sender)
      await receiver.start()
      await sender.start()

      // Interleaved: page -> Node, Node -> Node, page -> Node, Node -> Node.
      const pageRuns: Array<{ putMs: number, getMs: number }> = []
      const nodeRuns: Array<{ putMs: number, getMs: number }> = []
      const page = secure.contexts().at(-1)!.pages()[0]!
      for (let round = 0; round < 2; round++) {
        const put = await page.evaluate<{ link: string, putMs: number, digest: string }>(`(${PAGE_PUT})(${JSON.stringify({ bytes: fileBytes })})`)
        let started = performance.now()
        const got = await getBlob(put.link, receiver.blocks())
        pageRuns.push({ putMs: put.putMs, getMs: performance.now() - started })
        if (got.size !== fileBytes) throw new Error(`got ${got.size} bytes of ${fileBytes}`)

        const data = randomBytes(fileBytes)
        started = performance.now()
        const nodePut = await putBlob(new Blob([data]), sender.blocks(), { name: 'bench.bin' })
        const putMs = performance.now() - started
        started = performance.now()
        await getBlob(nodePut.link, receiver.blocks())
        nodeRuns.push({ putMs, getMs: performance.now() - started })
        context.progress(`round ${round + 1}: page put ${mbps(fileBytes, put.putMs).toFixed(1)} MB/s, Node put ${mbps(fileBytes, putMs).toFixed(1)} MB/s`)
      }
      const best = (runs: Array<{ putMs: number, getMs: number }>): { putMs: number, getMs: number } =>
        runs.reduce((a, b) => (a.putMs + a.getMs <= b.putMs + b.getMs ? a : b))
      const pageBest = best(pageRuns)
      const nodeBest = best(nodeRuns)
      const pageToNode = mbps(fileBytes, pageBest.putMs + pageBest.getMs)
      const nodeToNode = mbps(fileBytes, nodeBest.putMs + nodeBest.getMs)
      const metrics = {
        browserJoinP50Ms: quantile(pageJoins, 0.5),
        browserJoinP99Ms: quantile(pageJoins, 0.99),
        nodeJoinP50Ms: quantile(nodeJoins, 0.5),
        nodeJoinP99Ms: quantile(nodeJoins, 0.99),
        joins,
        fileBytes,
        pagePutMBps: mbps(fileBytes, pageBest.putMs),
        nodePutMBps: mbps(fileBytes, nodeBest.putMs),
        nodeGetAfterPagePutMBps: mbps(fileBytes, pageBest.getMs),
        nodeGetAfterNodePutMBps: mbps(fileBytes, nodeBest.getMs),
        pageToNodeMBps: pageToNode,
        nodeToNodeMBps: nodeToNode,
        pageToNodeRatio: pageToNode / nodeToNode
      }
      return {
        name: 'browser-peer',
        summary: `browser peer join over WebRTC-direct p50 ${metrics.browserJoinP50Ms.toFixed(0)} ms / p99 ${metrics.browserJoinP99Ms.toFixed(0)} ms (Node over TCP p50 ${metrics.nodeJoinP50Ms.toFixed(0)} ms, ${joins} joins each); ` +
          `${(fileBytes / 1024 / 1024).toFixed(0)} MiB page -> anchors -> Node ${pageToNode.toFixed(1)} MB/s vs Node -> anchors -> Node ${nodeToNode.toFixed(1)} MB/s = ${(100 * metrics.pageToNodeRatio).toFixed(0)}% ` +
          `(put ${metrics.pagePutMBps.toFixed(1)} vs ${metrics.nodePutMBps.toFixed(1)} MB/s, best of 2 interleaved rounds)`,
        metrics,
        goalMet: metrics.browserJoinP50Ms <= JOIN_GOAL_MS && metrics.pageToNodeRatio >= THROUGHPUT_GOAL_RATIO
      }
    } finally {
      await secure.close()
    }
  } finally {
    await Promise.all(peers.map(async p => await p.stop().catch(() => {})))
    await devnet?.stop().catch(() => {})
    await network.destroy()
  }
}
