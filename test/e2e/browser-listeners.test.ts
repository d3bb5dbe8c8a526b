import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyBootstrapList } from '../../node-image/src/bootstrap/signed-list.js'
import { freeUdpPort } from '../../node-image/src/net/ports.js'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import { makeTestCertificate } from '../helpers/test-ca.js'
import type { AnchorStatus } from '../../node-image/src/anchor/anchor-status.js'
import type { SignedBootstrapList } from '@meganet/contracts'

function webrtcDirect (status: AnchorStatus): string[] {
  return status.multiaddrs.filter(a => a.includes('/webrtc-direct/'))
}

function certhash (address: string): string {
  return /\/certhash\/([^/]+)/.exec(address)?.[1] ?? ''
}

/** The fingerprint of the certificate a TLS server on host:port presents now. */
async function presented (host: string, port: number): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw
      socket.destroy()
      resolve(new X509Certificate(raw).fingerprint256)
    })
    socket.once('error', reject)
  })
}

describe('anchor listeners for browsers', () => {
  const anchors: AnchorProcess[] = []
  let dir = ''
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'meganet-listeners-')) })
  afterAll(async () => {
    await Promise.all(anchors.map(async a => await a.cleanup()))
    await rm(dir, { recursive: true, force: true })
  })

  it('keeps its WebRTC-direct certhash across a restart, in its addresses and its signed bootstrap list', async () => {
    const dataDir = join(dir, 'restart')
    const first = await AnchorProcess.start({ dataDir })
    anchors.push(first)
    const before = webrtcDirect(await first.json<AnchorStatus>('/status'))
    expect(before).toHaveLength(1)
    expect(before[0]).toMatch(/\/udp\/\d+\/webrtc-direct\/certhash\/u[\w-]+\/p2p\/12D3KooW/)
    await first.stop()

    const second = await AnchorProcess.start({ dataDir })
    anchors.push(second)
    const status = await second.json<AnchorStatus>('/status')
    expect(webrtcDirect(status).map(certhash)).toEqual(before.map(certhash))
    expect(status.browser.webrtcDirect.map(c => c.certhash)).toEqual(before.map(certhash))
    const list = await verifyBootstrapList(await second.json<SignedBootstrapList>('/bootstrap'), [second.peerId])
    expect(list.anchors[0]?.multiaddrs.map(certhash)).toContain(certhash(before[0]!))
    expect(await second.metric('meganet_peers{transport="webrtc-direct"}')).toBe(0)
  })

  it('puts its certhash on announced WebRTC-direct addresses whose NodePort leads to its listener (operator announce file)', async () => {
    const [slot0, slot1] = [await freeUdpPort(), await freeUdpPort()]
    const announceFile = join(dir, 'announce-nodeport')
    await writeFile(announceFile, JSON.stringify({
      addresses: ['/ip4/203.0.113.7/tcp/31001', '/ip4/203.0.113.7/udp/31003/webrtc-direct', '/ip4/203.0.113.7/udp/30517/webrtc-direct'],
      udpPorts: { 31003: slot0, 30517: slot1 }
    }))
    const anchor = await AnchorProcess.start({
      flags: { 'announce-file': announceFile, 'listen-webrtc-direct-port': String(slot0), 'listen-webrtc-direct-rotation-port': String(slot1) }
    })
    anchors.push(anchor)
    const status = await anchor.json<AnchorStatus>('/status')
    const served = status.browser.webrtcDirect
    expect(served).toHaveLength(1)
    // The serving slot's nodePort gets its certhash; the other's is left out until that slot serves.
    const nodePort = served[0]!.port === slot0 ? 31003 : 30517
    expect(webrtcDirect(status)).toEqual([`/ip4/203.0.113.7/udp/${nodePort}/webrtc-direct/certhash/${served[0]!.certhash}/p2p/${anchor.peerId}`])
    expect(status.multiaddrs).toContain(`/ip4/203.0.113.7/tcp/31001/p2p/${anchor.peerId}`)
  })

  it('rotates the certificate on schedule: both hashes announced during the overlap, then only the new one', async () => {
    // Certificate 1 lives 0-20 s; 2 is made at 14 s; 1 retires at 20 s; 3 is made at 28 s. The
    // test sees the overlap (14-20 s) and then 2 alone (20-28 s). (16 s and 8 s had 1 retire and
    // 3 appear at the same moment: on a loaded machine the "2 alone" state never showed.)
    const rotating = await AnchorProcess.start({ flags: { 'webrtc-direct-certificate-lifetime': '20s', 'webrtc-direct-certificate-overlap': '6s' } })
    anchors.push(rotating)
    const initial = webrtcDirect(await rotating.json<AnchorStatus>('/status'))
    expect(initial).toHaveLength(1)
    const overlap = await eventually(async () => {
      const addresses = webrtcDirect(await rotating.json<AnchorStatus>('/status'))
      return addresses.length === 2 ? addresses : undefined
    }, 25_000, 'the next certificate announced beside the current one')
    expect(new Set(overlap.map(certhash)).size).toBe(2)
    expect(overlap.map(certhash)).toContain(certhash(initial[0]!))
    const ports = overlap.map(a => /\/udp\/(\d+)\//.exec(a)?.[1])
    expect(new Set(ports).size).toBe(2) // one certificate per UDP port
    const next = overlap.map(certhash).find(h => h !== certhash(initial[0]!))
    const after = await eventually(async () => {
      const addresses = webrtcDirect(await rotating.json<AnchorStatus>('/status'))
      return addresses.length === 1 && certhash(addresses[0]!) !== certhash(initial[0]!) ? addresses : undefined
    }, 30_000, 'the old certificate retired') // due 6 s after the overlap began; a loaded machine is slower to swap listeners
    expect(certhash(after[0]!)).toBe(next)
    expect(rotating.logs.join('\n')).toContain('retired an expired WebRTC-direct certificate')
  }, 90_000)

  it('serves WSS on the WebSocket port from certificate files and reloads them when they change', async () => {
    const a = await makeTestCertificate(dir, '127.0.0.1', 'a')
    const b = await makeTestCertificate(dir, '127.0.0.1', 'b')
    const certFile = join(dir, 'tls.crt')
    const keyFile = join(dir, 'tls.key')
    await copyFile(a.certFile, certFile)
    await copyFile(a.keyFile, keyFile)
    const anchor = await AnchorProcess.start({ flags: { 'wss-cert-file': certFile, 'wss-key-file': keyFile, 'wss-reload-interval': '500ms' } })
    anchors.push(anchor)
    const status = await anchor.json<AnchorStatus>('/status')
    const wss = status.multiaddrs.find(m => m.includes('/tls/ws/'))
    expect(wss).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/tls\/ws\/p2p\//)
    const port = Number(/\/tcp\/(\d+)\//.exec(wss!)?.[1])
    expect(status.multiaddrs).toContain(wss!.replace('/tls/ws/', '/ws/')) // plain WebSocket on the same port
    expect(await presented('127.0.0.1', port)).toBe(a.fingerprint)
    expect(status.browser.wss?.fingerprint).toBe(a.fingerprint)

    // A half-written pair (new certificate, old key) is refused and the current one kept.
    await copyFile(b.certFile, certFile)
    await eventually(() => anchor.logs.some(l => l.includes('cannot reload the WSS certificate')) ? true : undefined, 10_000, 'the bad pair reported')
    expect(await presented('127.0.0.1', port)).toBe(a.fingerprint)

    await copyFile(b.keyFile, keyFile)
    await eventually(async () => (await presented('127.0.0.1', port)) === b.fingerprint ? true : undefined, 10_000, 'the new certificate served')
    // /status is a snapshot up to a second old (computed once per second however many ask).
    await eventually(async () => (await anchor.json<AnchorStatus>('/status')).browser.wss?.fingerprint === b.fingerprint ? true : undefined, 5_000, 'status shows the new certificate')
  })

  it('refuses half a WSS configuration and a rotation overlap longer than half the lifetime, naming the option', async () => {
    const { execFile } = await import('node:child_process')
    const { promisify } = await import('node:util')
    const { CLI_PATH } = await import('../../node-image/src/devnet/anchor-child.js')
    const run = async (args: string[]): Promise<string> => {
      try {
        await promisify(execFile)(process.execPath, [CLI_PATH, 'anchor', '--data-dir', join(dir, 'bad'), ...args], { timeout: 20_000 })
        return ''
      } catch (err) {
        return (err as { stderr: string }).stderr
      }
    }
    await writeFile(join(dir, 'only.crt'), 'x')
    expect(await run(['--wss-cert-file', join(dir, 'only.crt')])).toMatch(/wss\.certFile.*go together/)
    expect(await run(['--webrtc-direct-certificate-lifetime', '10d', '--webrtc-direct-certificate-overlap', '6d'])).toMatch(/certificateOverlap.*at most half/)
  })
})
