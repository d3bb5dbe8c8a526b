import { createServer } from 'node:http'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { signBootstrapList } from '../bootstrap/signed-list.js'
import { knownFleets } from './known-fleets.js'
import type { BootstrapCache } from './known-fleets.js'
import type { SignedBootstrapList } from '@meganet/contracts'
import type { PrivateKey } from '@libp2p/interface'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'

async function anchorKey (): Promise<{ key: PrivateKey, id: string }> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

const address = (id: string, port = 4001): string => `/ip4/192.0.2.1/tcp/${port}/p2p/${id}`

function memoryCache (): BootstrapCache & { text?: string } {
  const cache: BootstrapCache & { text?: string } = {
    load: async () => await Promise.resolve(cache.text),
    save: async text => { cache.text = text; await Promise.resolve() }
  }
  return cache
}

describe('knownFleets', () => {
  let server: Server | undefined
  afterEach(async () => { await new Promise(resolve => server?.close(resolve) ?? resolve(undefined)) })

  async function serve (body: () => string | undefined): Promise<string> {
    server = createServer((_req, res) => {
      const text = body()
      if (text == null) { res.statusCode = 503; res.end(); return }
      res.setHeader('content-type', 'application/json')
      res.end(text)
    })
    await new Promise<void>(resolve => server?.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server?.address() as AddressInfo).port}/bootstrap`
  }

  it('returns its own fleet\'s anchors and, to fall back on, those of the peered fleets the list vouches for', async () => {
    const own = await anchorKey()
    const other = await anchorKey()
    const stranger = await anchorKey()
    const otherList = await signBootstrapList(other.key, other.id, [{ peerId: other.id, multiaddrs: [address(other.id, 5001)] }], 60_000)
    // A peered list signed by a key its pins do not name is left out.
    const forged = await signBootstrapList(stranger.key, stranger.id, [{ peerId: stranger.id, multiaddrs: [address(stranger.id, 6001)] }], 60_000)
    const signed = await signBootstrapList(own.key, own.id, [{ peerId: own.id, multiaddrs: [address(own.id)] }], 60_000, Date.now(),
      [{ pins: [other.id], list: otherList }, { pins: [other.id], list: forged }])
    const url = await serve(() => JSON.stringify(signed))
    const known = await knownFleets(url, [own.id])
    expect(known).toEqual({ anchors: [address(own.id)], fallback: [[[address(other.id, 5001)]]] })
  })

  it('starts from the kept list when the URL cannot be reached, and refuses it once expired', async () => {
    const own = await anchorKey()
    let body: string | undefined
    const url = await serve(() => body)
    const cache = memoryCache()
    body = JSON.stringify(await signBootstrapList(own.key, own.id, [{ peerId: own.id, multiaddrs: [address(own.id)] }], 60_000))
    await knownFleets(url, [own.id], cache)
    body = undefined
    expect((await knownFleets(url, [own.id], cache)).anchors).toEqual([address(own.id)])
    // Kept for another URL, or altered: not used.
    await expect(knownFleets(url.replace('bootstrap', 'other'), [own.id], cache)).rejects.toThrow(/HTTP 503/)
    const kept = JSON.parse(cache.text ?? '{}') as { url: string, signed: SignedBootstrapList }
    cache.text = JSON.stringify({ url, signed: { ...kept.signed, payload: kept.signed.payload.replace('192.0.2.1', '192.0.2.66') } })
    await expect(knownFleets(url, [own.id], cache)).rejects.toThrow(/no good either: signature/)
    const expired = await signBootstrapList(own.key, own.id, [{ peerId: own.id, multiaddrs: [address(own.id)] }], 1_000, Date.now() - 10_000)
    cache.text = JSON.stringify({ url, signed: expired })
    await expect(knownFleets(url, [own.id], cache)).rejects.toThrow(/expired/)
  })

  it('tries a list fetch that failed on the network again, and says why when every try failed', async () => {
    const own = await anchorKey()
    const body = JSON.stringify(await signBootstrapList(own.key, own.id, [{ peerId: own.id, multiaddrs: [address(own.id)] }], 60_000))
    let resets = 1
    server = createServer((req, res) => {
      if (resets-- > 0) { req.socket.destroy(); return }
      res.setHeader('content-type', 'application/json')
      res.end(body)
    })
    await new Promise<void>(resolve => server?.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bootstrap`
    expect((await knownFleets(url, [own.id])).anchors).toEqual([address(own.id)])
    resets = 3
    await expect(knownFleets(url, [own.id])).rejects.toThrow(`could not fetch the bootstrap list ${url} (3 tries): fetch failed`)
  })
})
