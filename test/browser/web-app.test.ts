import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Devnet } from '../../node-image/src/devnet/devnet.js'
import { serveWebApp } from '../../node-image/src/webapp/web-server.js'
import { getBlob, putBlob } from '../../node-image/src/files/index.js'
import { MeganetPeer } from '../../node-image/src/peer/index.js'
import { freshSnapshot } from '../helpers/fresh-snapshot.js'
import { eventually } from '../helpers/anchor-process.js'
import { launchChromium } from '../helpers/chromium.js'
import { natsServerBinary } from '../helpers/nats.js'
import { TestNetwork } from '../helpers/netns.js'
import { makeTestCertificate } from '../helpers/test-ca.js'
import { AppPage } from './app-page.js'
import type { ReceivedMessage } from '../../node-image/src/peer/index.js'
import type { Browser } from 'playwright-core'
import type { AddressInfo } from 'node:net'

const MiB = 1024 * 1024

function sha256 (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * The web app in real headless Chromium against a real devnet (three anchors, NATS). The
 * browser runs in a network namespace of its own joined to the host by a veth pair: the anchors
 * listen on the host side, so every packet of these tests, WebRTC included, stays on that link.
 */
describe('the web app in Chromium against a devnet', () => {
  let network: TestNetwork
  let devnet: Devnet
  let browser: Browser
  let dir = ''
  const pages: AppPage[] = []
  const peers: MeganetPeer[] = []

  async function page (): Promise<AppPage> {
    const opened = await AppPage.open(browser, devnet.web!.url)
    pages.push(opened)
    return opened
  }

  async function nodePeer (anchor: number): Promise<MeganetPeer> {
    const peer = await MeganetPeer.create({ anchors: [devnet.anchors[anchor]!.tcpAddress], allowPrivateAddresses: true })
    peers.push(peer)
    await peer.start()
    return peer
  }

  function address (anchor: number, kind: '/webrtc-direct/' | '/tls/ws/'): string {
    const found = devnet.anchors[anchor]!.multiaddrs.find(a => a.includes(kind))
    if (found == null) throw new Error(`anchor ${anchor} has no ${kind} address: ${devnet.anchors[anchor]!.multiaddrs.join(' ')}`)
    return found
  }

  async function received (peer: MeganetPeer, text: string): Promise<ReceivedMessage> {
    return await new Promise(resolve => {
      const off = peer.onMessage(message => {
        if (new TextDecoder().decode(message.data) === text) { off(); resolve(message) }
      })
    })
  }

  beforeAll(async () => {
    network = await TestNetwork.create()
    dir = await mkdtemp(join(tmpdir(), 'meganet-browser-'))
    const certificate = await makeTestCertificate(dir, network.hostAddress)
    devnet = await Devnet.start({
      anchors: 3,
      host: network.hostAddress,
      natsServer: natsServerBinary(),
      web: { host: network.hostAddress, port: 0 },
      anchorFlags: { 'wss-cert-file': certificate.certFile, 'wss-key-file': certificate.keyFile, 'shutdown-grace': '2s' }
    })
    browser = await launchChromium({ network, trustSpki: [certificate.spkiHash], secureOrigins: [new URL(devnet.web!.url).origin] })
  }, 120_000)

  afterAll(async () => {
    await Promise.all(pages.map(async p => await p.close().catch(() => {})))
    await browser?.close()
    await Promise.all(peers.map(async p => await p.stop().catch(() => {})))
    await devnet?.stop()
    await network?.destroy()
    await rm(dir, { recursive: true, force: true })
  }, 60_000)

  let webrtcPage: AppPage
  let webrtcPageId = ''
  let wssPage: AppPage
  let wssPageId = ''

  it('exchanges messages both ways between a page and a Node peer over WebRTC-direct', async () => {
    webrtcPage = await page()
    await webrtcPage.screenshot('1-join')
    webrtcPageId = await webrtcPage.join([address(0, '/webrtc-direct/')])
    expect(webrtcPageId).toMatch(/^12D3KooW/)
    expect(await webrtcPage.status()).toContain('WebRTC-direct')
    expect((await webrtcPage.connections()).some(c => c.peer === devnet.anchors[0]!.peerId && c.address.includes('/webrtc-direct'))).toBe(true)

    const node = await nodePeer(1)
    await node.send(webrtcPageId, new TextEncoder().encode('hello page, from a Node peer'))
    await webrtcPage.waitForMessage('hello page, from a Node peer')

    const reply = received(node, 'hello Node peer, from a page')
    await webrtcPage.openChat(node.peerId)
    await webrtcPage.send('hello Node peer, from a page')
    expect((await reply).from).toBe(webrtcPageId)
    await webrtcPage.screenshot('2-chat')
  }, 120_000)

  it('exchanges messages both ways between a page and a Node peer over WSS (certificate from a test CA)', async () => {
    wssPage = await page()
    wssPageId = await wssPage.join([address(1, '/tls/ws/')])
    expect(await wssPage.status()).toContain('secure WebSocket')
    const metrics = await freshSnapshot(devnet.anchors[1]!.url('/metrics'))
    expect(Number(/^meganet_peers\{transport="websocket-secure"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1)

    const node = await nodePeer(2)
    const reply = received(node, 'over TLS, from a page')
    await wssPage.openChat(node.peerId)
    await wssPage.send('over TLS, from a page')
    expect((await reply).from).toBe(wssPageId)
    await node.send(wssPageId, new TextEncoder().encode('over TLS, to a page'))
    await wssPage.waitForMessage('over TLS, to a page')
  }, 120_000)

  it('connects two pages directly over WebRTC, with the relay only carrying the signalling', async () => {
    await webrtcPage.openChat(wssPageId)
    await wssPage.openChat(webrtcPageId)
    await webrtcPage.send('first message: through the relay')
    await wssPage.waitForMessage('first message: through the relay')
    // The app asks for a direct connection after a relayed send (three tries of up to 10 s); the badge follows the path.
    await eventually(async () => (await webrtcPage.pathTo(wssPageId)) === 'direct' ? true : undefined, 45_000, 'a direct connection between the pages')
    const direct = (await webrtcPage.connections()).filter(c => c.peer === wssPageId && !c.limited)
    expect(direct.some(c => c.address.includes('/webrtc'))).toBe(true)
    await webrtcPage.page.waitForSelector('#path-badge[data-path="direct"]', { timeout: 10_000 })
    await webrtcPage.send('second message: directly')
    expect((await wssPage.waitForMessage('second message: directly')).relayed).toBe(false)
    await webrtcPage.screenshot('3-direct-chat')
  }, 120_000)

  it('moves a 20 MiB file from a page to a Node peer and back, with the same SHA-256', async () => {
    const node = await nodePeer(2)
    const bytes = randomBytes(20 * MiB)
    const link = await webrtcPage.share('holiday-video.bin', bytes)
    expect(link).toMatch(/^meganet:\/\/b[a-z2-7]+#[\w-]+$/)
    await webrtcPage.screenshot('4-file-shared')
    const got = await getBlob(link, node.blocks())
    expect(got.name).toBe('holiday-video.bin')
    expect(sha256(new Uint8Array(await got.blob.arrayBuffer()))).toBe(sha256(bytes))

    const back = randomBytes(20 * MiB)
    const put = await putBlob(new Blob([back]), node.blocks(), { name: 'from-node.bin' })
    const opened = await wssPage.open(put.link)
    expect(opened).toEqual({ name: 'from-node.bin', sha256: sha256(back) })
    await wssPage.screenshot('5-file-opened')
  }, 240_000)

  it('tells the person what to do about a wrong link, an offline peer and an unreachable anchor', async () => {
    expect(await webrtcPage.openError('https://example.com/file')).toMatch(/^That is not a working MegaNet link .*paste the whole meganet:\/\/… link/)
    expect(await webrtcPage.openError(`meganet://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy#${'A'.repeat(43)}`)).toMatch(/^That is not a working MegaNet link .*raw block/)
    const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    await webrtcPage.openChat(stranger)
    await expect(webrtcPage.send('anyone there?')).rejects.toThrow(/That peer is not online right now: ask them to open MegaNet, then send again\./)
    await webrtcPage.openChat('not-a-peer-id')
    expect(await webrtcPage.page.textContent('#new-chat-error')).toMatch(/is not a PeerId: paste the whole id/)
    await webrtcPage.screenshot('6-errors')

    const lonely = await page()
    const unreachable = address(0, '/webrtc-direct/').replace(/\/udp\/\d+\//, '/udp/9/')
    expect(await lonely.joinError([unreachable])).toMatch(/^No anchor answered \(.+\)\. Check the anchor address and that the network \(devnet or fleet\) is running, then join again\.$/)
    expect(await lonely.joinError(['/not/a/multiaddr'])).toMatch(/^That anchor address is not usable \("\/not\/a\/multiaddr" is not a multiaddr\): it looks like \/ip4\//)
    for (const p of pages) expect(p.errors).toEqual([])
  }, 120_000)

  it('reconnects to another anchor when its anchor is killed, and is reachable by PeerId again', async () => {
    const roaming = await page()
    const id = await roaming.join() // every anchor the devnet serves the page
    const relay = await eventually(async () => /anchor (12D3KooW\S+)…(\S+) ·/.exec(await roaming.status()) ?? undefined, 20_000, 'online')
    const killed = devnet.anchors.findIndex(a => a.peerId.startsWith(relay[1]!.slice(0, 10)) && a.peerId.endsWith(relay[2]!))
    expect(killed).toBeGreaterThanOrEqual(0)
    const survivor = [0, 1, 2].find(i => i !== killed)!
    const node = await nodePeer(survivor)
    await devnet.anchors[killed]!.stop('SIGKILL')
    await eventually(async () => {
      const status = await roaming.status()
      return status.startsWith('Online') && !status.includes(relay[2]!) ? status : undefined
    }, 60_000, 'the page online through another anchor')
    await eventually(async () => {
      await node.send(id, new TextEncoder().encode('found you again'))
      return true
    }, 60_000, 'the page reachable by PeerId again')
    await roaming.waitForMessage('found you again')
  }, 180_000)

  it('joins through a signed bootstrap list, keeps it in localStorage, and starts from it when the list cannot be fetched', async () => {
    // Last: it replaces the devnet's page config. The list's server, a stand-in for a fleet's
    // public URL, passes a running anchor's list through until it is closed.
    const signer = devnet.anchors.find(a => a.running)!
    const listServer = createServer((_req, res) => {
      fetch(signer.url('/bootstrap')).then(async r => {
        res.setHeader('access-control-allow-origin', '*')
        res.setHeader('content-type', 'application/json')
        res.end(await r.text())
      }).catch(() => { res.statusCode = 502; res.end() })
    })
    await new Promise<void>(resolve => listServer.listen(0, network.hostAddress, resolve))
    // Pages fetch an anchor's list from another origin.
    expect((await fetch(signer.url('/bootstrap'))).headers.get('access-control-allow-origin')).toBe('*')
    const bootstrapUrl = `http://${network.hostAddress}:${(listServer.address() as AddressInfo).port}/bootstrap`
    // The page's config names the list instead of anchors, served from the same origin (Chromium treats it as secure).
    const origin = new URL(devnet.web!.url)
    await devnet.web!.close()
    devnet.web = await serveWebApp({ anchors: [], allowPrivateAddresses: true, bootstrapUrl, trustedAnchors: devnet.anchors.map(a => a.peerId) },
      { host: origin.hostname, port: Number(origin.port) })
    const listed = await page()
    const first = await listed.join()
    expect(first).toMatch(/^12D3KooW/)
    const kept = await listed.page.evaluate(() => localStorage.getItem('meganet:bootstrap'))
    expect(JSON.parse(kept ?? '{}')).toMatchObject({ url: bootstrapUrl, signed: { signer: signer.peerId } })

    await new Promise(resolve => listServer.close(resolve))
    listServer.closeAllConnections()
    await listed.page.reload()
    await listed.page.waitForSelector('#anchors')
    expect(await listed.join()).toBe(first)
    for (const p of pages) expect(p.errors).toEqual([])
  }, 120_000)
})
