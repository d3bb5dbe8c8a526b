import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readAnnounceFile, waitForAnnounceFile } from './announce-file.js'

const log = pino({ level: 'silent' })

describe('announce file', () => {
  let dir: string
  let path: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meganet-announce-'))
    path = join(dir, 'eu-anchor-0')
  })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('reads the addresses of an entry for this node, or of one with no node', async () => {
    await writeFile(path, JSON.stringify({ node: 'n1', addresses: ['/ip4/203.0.113.7/tcp/31001'] }))
    expect((await readAnnounceFile({ path, nodeName: 'n1', log }))?.addresses).toEqual(['/ip4/203.0.113.7/tcp/31001'])
    await writeFile(path, JSON.stringify({ addresses: ['/dns/lb.example.net/tcp/4001'] }))
    expect((await readAnnounceFile({ path, nodeName: 'n1', log }))?.addresses).toEqual(['/dns/lb.example.net/tcp/4001'])
  })

  it('ignores a missing file, an entry for another node (a stale one after rescheduling) and anything malformed', async () => {
    expect(await readAnnounceFile({ path, log })).toBeUndefined()
    await writeFile(path, JSON.stringify({ node: 'old-node', addresses: ['/ip4/1.2.3.4/tcp/1'] }))
    expect(await readAnnounceFile({ path, nodeName: 'n1', log })).toBeUndefined()
    for (const bad of ['not json', '{"addresses":["not a multiaddr"]}', JSON.stringify({ addresses: Array(40).fill('/ip4/1.2.3.4/tcp/1') }),
      '{"addresses":[],"udpPorts":{"31003":70000}}', '{"addresses":[],"udpPorts":{"port":4003}}']) {
      await writeFile(path, bad)
      expect(await readAnnounceFile({ path, log }), bad).toBeUndefined()
    }
  })

  it('reads an entry from a newer operator, ignoring the fields it does not know (rolling upgrade)', async () => {
    await writeFile(path, JSON.stringify({ node: 'n1', addresses: ['/ip4/203.0.113.7/tcp/31001'], quicPorts: { 31005: 4005 } }))
    expect((await readAnnounceFile({ path, nodeName: 'n1', log }))?.addresses).toEqual(['/ip4/203.0.113.7/tcp/31001'])
  })

  it('waits for the entry, and starts without one after the timeout', async () => {
    setTimeout(() => { void writeFile(path, JSON.stringify({ node: 'n1', addresses: ['/ip4/203.0.113.7/tcp/31001'] })) }, 300)
    expect((await waitForAnnounceFile({ path, nodeName: 'n1', log, timeoutMs: 10_000 })).addresses).toEqual(['/ip4/203.0.113.7/tcp/31001'])
    expect(await waitForAnnounceFile({ path: join(dir, 'never'), log, timeoutMs: 100 })).toEqual({ addresses: [], udpPorts: new Map() })
  })

  it('reads which of its own UDP ports each announced one leads to (NodePort)', async () => {
    await writeFile(path, JSON.stringify({ node: 'n1', addresses: ['/ip4/203.0.113.7/udp/31003/webrtc-direct'], udpPorts: { 31003: 4003, 30517: 4004 } }))
    expect((await readAnnounceFile({ path, nodeName: 'n1', log }))?.udpPorts).toEqual(new Map([[31003, 4003], [30517, 4004]]))
  })
})
