import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI_PATH } from '../../node-image/src/devnet/anchor-child.js'
import { getFile, putFile } from '../../node-image/src/files/index.js'
import { cidOf } from '../../node-image/src/blocks/cid.js'
import { storeRequest } from '../../node-image/src/blocks/store-client.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { eventually } from '../helpers/anchor-process.js'
import { TestPeers } from '../helpers/peers.js'
import { TestNats } from '../helpers/nats.js'
import { storageFleet } from './storage-fleet.js'
import type { AnchorProcess } from '../helpers/anchor-process.js'

const run = promisify(execFile)

describe('encrypted files through storage anchors', () => {
  let nats: TestNats
  let anchors: AnchorProcess[] = []
  let dir: string
  const peers = new TestPeers()

  beforeAll(async () => {
    nats = await TestNats.start()
    // Short garbage-collection times so the sweep is seen within the test.
    anchors = await storageFleet(nats, 'files', 3, { 'storage-gc-interval': '1s', 'storage-gc-grace': '3s' })
    dir = await mkdtemp(join(tmpdir(), 'meganet-files-'))
  })

  afterAll(async () => {
    await peers.stopAll()
    await Promise.all(anchors.map(async a => await a.cleanup()))
    await nats?.cleanup()
    await rm(dir, { recursive: true, force: true })
  })


  it('puts a multi-chunk file through one anchor and gets it through another; anchors hold only ciphertext', async () => {
    const source = join(dir, 'source.bin')
    const content = Buffer.concat([Buffer.from('MEGANET-PLAINTEXT-MARKER'), randomBytes(5 * 1024 * 1024 + 123)])
    await writeFile(source, content)
    const writer = await peers.on(anchors[0]!)
    const reader = await peers.on(anchors[2]!)
    const put = await putFile(source, writer.blocks(), { chunkSize: 1024 * 1024 })
    expect(put.chunks).toBe(6)
    expect(put.link).toMatch(/^meganet:\/\/b[a-z2-7]+#[A-Za-z0-9_-]+$/)

    const out = join(dir, 'out.bin')
    const got = await getFile(put.link, reader.blocks(), out)
    expect(got).toEqual({ name: 'source.bin', size: content.byteLength })
    expect((await readFile(out)).equals(content)).toBe(true)

    // No anchor's store holds the plaintext marker.
    for (const anchor of anchors) {
      const { stdout } = await run('grep', ['-rl', 'MEGANET-PLAINTEXT-MARKER', join(anchor.dataDir, 'store')]).catch(() => ({ stdout: '' }))
      expect(stdout).toBe('')
    }
  })

  it('garbage-collects unreferenced blocks but keeps pinned files, and announces manifests as DHT providers', async () => {
    const peer = await peers.on(anchors[1]!)
    const source = join(dir, 'kept.bin')
    const content = randomBytes(300_000)
    await writeFile(source, content)
    const kept = await putFile(source, peer.blocks(), { chunkSize: 64 * 1024 })
    const orphan = randomBytes(4000)
    const orphanCid = await cidOf(orphan, 'raw')
    await peer.blocks().put(orphanCid, orphan, { pin: false })

    const providers = await eventually(async () => {
      const found: string[] = []
      for await (const provider of peer.node.contentRouting.findProviders(kept.manifestCid, { signal: AbortSignal.timeout(5_000) })) found.push(provider.id.toString())
      return found.length > 0 ? found : undefined
    }, 15_000, 'provider records')
    expect(providers.every(id => anchors.some(a => a.peerId === id))).toBe(true)

    await eventually(async () => {
      for (const anchor of anchors) {
        const { reply } = await storeRequest(peer.node, peerIdFromString(anchor.peerId), { op: 'has', cids: [orphanCid.toString()] })
        if (reply.has?.[0] === true) return undefined
      }
      return true
    }, 20_000, 'orphan collected on every anchor')
    await expect(peer.blocks().get(orphanCid)).rejects.toThrow(/failed on every anchor/)
    const deleted = await Promise.all(anchors.map(async a => await a.metric('meganet_storage_gc_deleted_blocks_total')))
    console.log(`gc deleted per anchor: ${deleted.join(', ')}`)
    const out = join(dir, 'kept-out.bin')
    await getFile(kept.link, peer.blocks(), out)
    expect((await readFile(out)).equals(content)).toBe(true)
  })

  it('works from the CLI, and a wrong key fails to decrypt with a clear error', async () => {
    const source = join(dir, 'note.txt')
    await writeFile(source, 'meet at the old bridge at noon\n')
    const anchorFlags = (anchor: AnchorProcess): string[] => ['--anchor', anchor.tcpAddress, '--allow-private-addresses']
    const put = await run(process.execPath, [CLI_PATH, 'peer', 'put', source, ...anchorFlags(anchors[1]!)], { timeout: 60_000 })
    const link = put.stdout.trim()
    expect(link).toMatch(/^meganet:\/\//)

    const out = join(dir, 'note-out.txt')
    await run(process.execPath, [CLI_PATH, 'peer', 'get', link, out, ...anchorFlags(anchors[0]!)], { timeout: 60_000 })
    expect(await readFile(out, 'utf8')).toBe('meet at the old bridge at noon\n')

    const wrongKey = `${link.split('#')[0]}#${Buffer.from(randomBytes(32)).toString('base64url')}`
    const failed = await run(process.execPath, [CLI_PATH, 'peer', 'get', wrongKey, join(dir, 'never.txt'), ...anchorFlags(anchors[2]!)], { timeout: 60_000 })
      .then(() => undefined, (err: { code: number, stderr: string }) => err)
    expect(failed?.code).toBe(1)
    expect(failed?.stderr).toMatch(/wrong key or the data was altered/)
    await expect(readFile(join(dir, 'never.txt'))).rejects.toThrow(/ENOENT/)
  })
})
