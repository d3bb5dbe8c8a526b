import { execFile, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MeganetPeer, verifyBootstrapList } from '../../node-image/src/peer/index.js'
import { CLI_PATH } from '../../node-image/src/devnet/anchor-child.js'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import { freePort } from '../helpers/ports.js'

const run = promisify(execFile)

/** Runs `promtool check metrics` on an exposition; returns the problems it prints, one a line. */
async function promtoolCheckMetrics (exposition: string): Promise<string[]> {
  return await new Promise((resolve, reject) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') reject(new Error('promtool not found: install Debian\'s prometheus package (.ci/run does)'))
      else resolve(`${stdout}${stderr}`.split('\n').map(l => l.trim()).filter(l => l.length > 0))
    })
    child.stdin?.end(exposition)
  })
}

async function cliFails (args: string[], env: Record<string, string> = {}): Promise<{ code: number, stderr: string }> {
  try {
    await run(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ...env }, timeout: 20_000 })
  } catch (err) {
    const failure = err as { code: number, stderr: string }
    return { code: failure.code, stderr: failure.stderr }
  }
  throw new Error(`meganet ${args.join(' ')} succeeded but should have failed`)
}

describe('anchor lifecycle', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => { for (const cleanup of cleanups.splice(0).reverse()) await cleanup() })

  it('keeps its PeerId across restarts, and its peers re-reserve on their own', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'meganet-restart-'))
    const tcpPort = String(await freePort())
    const flags = { 'listen-tcp-port': tcpPort }
    let anchor = await AnchorProcess.start({ dataDir, flags })
    cleanups.push(async () => { await anchor.cleanup(); await rm(dataDir, { recursive: true, force: true }) })
    const firstId = anchor.peerId
    const peer = await MeganetPeer.create({ anchors: [anchor.tcpAddress], allowPrivateAddresses: true })
    cleanups.push(async () => await peer.stop())
    await peer.start()

    expect(await anchor.stop('SIGTERM')).toBe(0)
    await eventually(() => peer.circuitAddresses().length === 0 ? true : undefined, 10_000, 'reservation dropped with the anchor')

    anchor = await AnchorProcess.start({ dataDir, flags })
    expect(anchor.peerId).toBe(firstId)
    const addresses = await peer.waitForRelayAddress(30_000)
    expect(addresses[0]).toContain(`/p2p/${firstId}/p2p-circuit`)
    await eventually(async () => (await anchor.metric('meganet_relay_reservations')) === 1 ? true : undefined, 10_000, 'reservation on the restarted anchor')
  })

  it('stops gracefully on SIGTERM: not ready, no new reservations, exit 0 within the grace period', async () => {
    const anchor = await AnchorProcess.start({ flags: { 'shutdown-grace': '3s' } })
    cleanups.push(async () => await anchor.cleanup())
    const started = Date.now()
    expect(await anchor.stop('SIGTERM')).toBe(0)
    expect(Date.now() - started).toBeLessThan(8_000)
    expect(anchor.logs.some(l => l.includes('"anchor stopped"'))).toBe(true)
  })

  it('refuses bad configuration at start, naming the field and what is allowed', async () => {
    const flagged = await cliFails(['anchor', '--relay-max-reservations', 'many', '--http-port', '99999'])
    expect(flagged.code).toBe(2)
    expect(flagged.stderr).toContain('relay.maxReservations (flag --relay-max-reservations): expected a whole number >= 0, got "many"')
    expect(flagged.stderr).toContain('http.port (flag --http-port)')

    const fromEnv = await cliFails(['anchor'], { MEGANET_RELAY_CIRCUIT_DURATION_LIMIT: 'forever' })
    expect(fromEnv.stderr).toContain('relay.circuitDurationLimit (env MEGANET_RELAY_CIRCUIT_DURATION_LIMIT)')

    const dir = await mkdtemp(join(tmpdir(), 'meganet-badconfig-'))
    cleanups.push(async () => await rm(dir, { recursive: true, force: true }))
    const file = join(dir, 'anchor.yaml')
    await writeFile(file, 'relay:\n  maxReservationsPerIP: 4\n')
    const fromFile = await cliFails(['anchor', '--config', file])
    expect(fromFile.stderr).toContain(`relay.maxReservationsPerIP (file ${file}): unknown option`)

    const missingKey = await cliFails(['anchor', '--identity-file', join(dir, 'absent.key'), '--data-dir', dir])
    expect(missingKey.stderr).toContain('does not exist')
  })
})

describe('anchor HTTP endpoints', () => {
  const anchors: AnchorProcess[] = []
  beforeAll(async () => {
    anchors.push(await AnchorProcess.start())
    anchors.push(await AnchorProcess.start({ bootstrap: [anchors[0]!.tcpAddress] }))
  })
  afterAll(async () => { await Promise.all(anchors.map(async a => await a.cleanup())) })

  it('reports ready once connected to a configured anchor, with status JSON', async () => {
    const [seed, second] = anchors as [AnchorProcess, AnchorProcess]
    await eventually(async () => (await fetch(second.url('/readyz'))).ok ? true : undefined, 15_000, 'second anchor ready')
    expect((await fetch(seed.url('/healthz'))).status).toBe(200)
    const status = await second.json<{ peerId: string, phase: string, anchors: { configured: number, connected: number } }>('/status')
    expect(status).toMatchObject({ peerId: second.peerId, phase: 'serving', anchors: { configured: 1, connected: 1 } })
  })

  it('is not ready while none of its configured anchors answers', async () => {
    const lonely = await AnchorProcess.start({ bootstrap: [`/ip4/127.0.0.1/tcp/${await freePort()}/p2p/${anchors[0]!.peerId}`] })
    try {
      const response = await fetch(lonely.url('/readyz'))
      expect(response.status).toBe(503)
      expect(((await response.json()) as { reason: string }).reason).toContain('connected to none of the 1 known anchors')
    } finally {
      await lonely.cleanup()
    }
  })

  it('serves a signed bootstrap list that verifies with the anchor key and fails when tampered', async () => {
    const [seed, second] = anchors as [AnchorProcess, AnchorProcess]
    const signed = await eventually(async () => {
      const body = await second.json<{ signer: string, payload: string, signature: string }>('/bootstrap')
      return body.payload.includes(seed.peerId) ? body : undefined
    }, 15_000, 'bootstrap list naming the other anchor')
    const list = await verifyBootstrapList(signed, [second.peerId])
    expect(list.anchors.map(a => a.peerId)).toEqual([second.peerId, seed.peerId])

    const tampered = { ...signed, payload: signed.payload.replace(/127\.0\.0\.1/g, '127.0.0.2') }
    await expect(verifyBootstrapList(tampered, [second.peerId])).rejects.toThrow(/signature does not match/)
    await expect(verifyBootstrapList(signed, [seed.peerId])).rejects.toThrow(/not a trusted anchor/)

    const peer = await MeganetPeer.create({ bootstrapUrl: second.url('/bootstrap'), trustedAnchors: [second.peerId], allowPrivateAddresses: true })
    try {
      await peer.start()
      expect(peer.circuitAddresses().length).toBeGreaterThan(0)
    } finally {
      await peer.stop()
    }
  })

  const promtool = spawnSync('promtool', ['--version']).error == null
  if (!promtool) {
    if (process.env.CI === 'true') throw new Error('promtool not found in CI: .ci/run installs Debian\'s prometheus package')
    console.warn('skipping the promtool check: promtool not found (Debian package prometheus; .ci/run installs it)')
  }

  it.runIf(promtool)('exports metrics that pass promtool check metrics', async () => {
    const text = await anchors[0]!.metrics()
    for (const name of ['meganet_build_info', 'meganet_peers', 'meganet_relay_reservations', 'meganet_relay_relayed_bytes_total',
      'meganet_relay_circuits', 'meganet_dht_routing_table_peers', 'meganet_relay_reservations_refused_total', 'libp2p_']) {
      expect(text).toContain(name)
    }
    // Our own families must be lint-clean; the whole exposition must parse, with lint notes only
    // on families named upstream (libp2p's and prom-client's defaults), which we cannot rename.
    const ours = text.split('\n').filter(l => /^(# (HELP|TYPE) )?meganet_/.test(l)).join('\n') + '\n'
    expect(await promtoolCheckMetrics(ours)).toEqual([])
    const problems = await promtoolCheckMetrics(text)
    for (const problem of problems) expect(problem).toMatch(/^(libp2p|nodejs)_\S+ (non-counter metrics should not have "_total" suffix|use base unit)/)
  })
})
