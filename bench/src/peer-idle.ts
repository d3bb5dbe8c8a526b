import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { CLI_PATH, Devnet } from '@meganet/node/testing'
import { launchChromium } from './browser/chromium.js'
import { TestNetwork } from './browser/netns.js'
import { childrenOf, cpuSecondsOfPids, descendants } from './browser/process-tree.js'
import type { BenchContext, BenchResult } from './bench-types.js'
import type { Browser } from 'playwright-core'

/** The goal of issue 12: an idle peer uses under 1% of a core, with its anchors up and with them all gone. */
const GOAL_PERCENT = 1

async function directChildren (): Promise<number[]> {
  return await childrenOf(process.pid)
}

/** A launched browser and every process below it. */
async function launchTracked (network: TestNetwork, secureOrigins: string[]): Promise<{ browser: Browser, root: number }> {
  const before = new Set(await directChildren())
  const browser = await launchChromium({ network, secureOrigins })
  const root = (await directChildren()).find(pid => !before.has(pid))
  if (root == null) throw new Error('cannot find the Chromium process that was just launched')
  return { browser, root }
}

async function treeCpu (root: number): Promise<number> {
  return await cpuSecondsOfPids([root, ...await descendants(root)])
}

/** Percent of one core each measured thing used over `seconds`, all side by side in the same window. */
async function measure (seconds: number, sources: Record<string, () => Promise<number>>): Promise<Record<string, number>> {
  const start = Object.fromEntries(await Promise.all(Object.entries(sources).map(async ([k, f]) => [k, await f()] as const)))
  const t0 = performance.now()
  await sleep(seconds * 1000)
  const elapsed = (performance.now() - t0) / 1000
  const end = Object.fromEntries(await Promise.all(Object.entries(sources).map(async ([k, f]) => [k, await f()] as const)))
  return Object.fromEntries(Object.keys(sources).map(k => [k, 100 * ((end[k] ?? 0) - (start[k] ?? 0)) / elapsed]))
}

/**
 * `peer-idle`: CPU of an idle Node peer (`meganet peer listen`) and of an idle browser peer (the
 * web app in headless Chromium, joined) while their anchors are up, then after every anchor was
 * killed (SIGKILL) and the peers back off. The browser peer's cost is Chromium with the joined
 * page minus a second Chromium showing a blank page, measured in the same window.
 */
export async function peerIdle (context: BenchContext): Promise<BenchResult> {
  const windowSeconds = context.smoke ? 3 : 60
  const settleSeconds = context.smoke ? 2 : 30
  const network = await TestNetwork.create()
  let devnet: Devnet | undefined
  const browsers: Browser[] = []
  let nodePeer: ReturnType<typeof spawn> | undefined
  try {
    devnet = await Devnet.start({ anchors: 2, host: network.hostAddress, web: { host: network.hostAddress, port: 0 }, anchorFlags: { 'shutdown-grace': '1s' } })
    const url = devnet.web!.url
    context.progress(`devnet up; web app ${url}`)
    const anchors = devnet.anchors.map(a => a.tcpAddress)
    nodePeer = spawn(process.execPath, [CLI_PATH, 'peer', 'listen', '--allow-private-addresses', ...anchors.flatMap(a => ['--anchor', a])], { stdio: ['ignore', 'pipe', 'ignore'] })
    const nodePid = nodePeer.pid ?? 0
    await new Promise<void>((resolve, reject) => {
      nodePeer!.stdout?.on('data', (chunk: Buffer) => { if (chunk.toString().includes('reachable at')) resolve() })
      nodePeer!.once('exit', code => { reject(new Error(`meganet peer listen exited with ${code}`)) })
    })

    const peerBrowser = await launchTracked(network, [new URL(url).origin])
    browsers.push(peerBrowser.browser)
    const blankBrowser = await launchTracked(network, [new URL(url).origin])
    browsers.push(blankBrowser.browser)
    const page = await (await peerBrowser.browser.newContext()).newPage()
    await page.goto(url)
    await page.click('#join-button')
    await page.waitForSelector('#workspace:not([hidden])', { timeout: 30_000 })
    const blank = await (await blankBrowser.browser.newContext()).newPage()
    await blank.goto('about:blank')
    context.progress('Node peer and page joined; settling')
    await sleep(settleSeconds * 1000)

    const sources = {
      node: async () => await cpuSecondsOfPids([nodePid]),
      browserWithPeer: async () => await treeCpu(peerBrowser.root),
      browserBlank: async () => await treeCpu(blankBrowser.root)
    }
    context.progress(`measuring ${windowSeconds} s with anchors up`)
    const up = await measure(windowSeconds, sources)
    for (const anchor of devnet.anchors) await anchor.stop('SIGKILL')
    context.progress(`anchors killed; settling ${settleSeconds} s, then measuring ${windowSeconds} s`)
    await sleep(settleSeconds * 1000)
    const status = await page.textContent('#status-text')
    const down = await measure(windowSeconds, sources)

    const metrics = {
      nodeUpPercent: up.node ?? 0,
      nodeDownPercent: down.node ?? 0,
      browserPeerUpPercent: Math.max(0, (up.browserWithPeer ?? 0) - (up.browserBlank ?? 0)),
      browserPeerDownPercent: Math.max(0, (down.browserWithPeer ?? 0) - (down.browserBlank ?? 0)),
      browserWithPeerUpPercent: up.browserWithPeer ?? 0,
      browserBlankUpPercent: up.browserBlank ?? 0,
      browserWithPeerDownPercent: down.browserWithPeer ?? 0,
      browserBlankDownPercent: down.browserBlank ?? 0,
      windowSeconds
    }
    const worst = Math.max(metrics.nodeUpPercent, metrics.nodeDownPercent, metrics.browserPeerUpPercent, metrics.browserPeerDownPercent)
    const pct = (v: number): string => `${v.toFixed(2)}%`
    return {
      name: 'peer-idle',
      summary: `idle peer, % of one core over ${windowSeconds} s: Node peer ${pct(metrics.nodeUpPercent)} with anchors up, ${pct(metrics.nodeDownPercent)} with all anchors killed; ` +
        `browser peer ${pct(metrics.browserPeerUpPercent)} up, ${pct(metrics.browserPeerDownPercent)} down (Chromium with the joined page minus Chromium with a blank page: ` +
        `${pct(metrics.browserWithPeerUpPercent)} - ${pct(metrics.browserBlankUpPercent)} up, ${pct(metrics.browserWithPeerDownPercent)} - ${pct(metrics.browserBlankDownPercent)} down); page said "${status ?? ''}" while the anchors were gone`,
      metrics,
      goalMet: worst < GOAL_PERCENT
    }
  } finally {
    for (const browser of browsers) await browser.close().catch(() => {})
    nodePeer?.kill('SIGKILL')
    await devnet?.stop().catch(() => {})
    await network.destroy()
  }
}
