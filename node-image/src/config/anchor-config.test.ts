import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_RESERVATIONS_PER_IP, DEFAULT_TCP_PORT } from './anchor-defaults.js'
import { loadAnchorConfig } from './anchor-config.js'
import { ConfigError } from './errors.js'
import { tempDir } from '../temp-dir.fixture.js'

async function configFile (text: string, name = 'anchor.yaml'): Promise<string> {
  const file = join(await tempDir('config'), name)
  await writeFile(file, text)
  return file
}

function problemsOf (run: () => unknown): ConfigError['problems'] {
  try {
    run()
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

describe('loadAnchorConfig', () => {
  it('gives the documented defaults', () => {
    const config = loadAnchorConfig()
    expect(config.listen.tcpPort).toBe(DEFAULT_TCP_PORT)
    expect(config.relay.maxReservationsPerIp).toBe(DEFAULT_MAX_RESERVATIONS_PER_IP)
    expect(config.roles).toEqual(['bootstrap', 'relay', 'storage'])
  })

  it('lets flags override env vars, which override the file', async () => {
    const file = await configFile('listen:\n  tcpPort: 5001\n  wsPort: 5002\nrelay:\n  circuitDataLimit: 1MiB\n')
    const config = loadAnchorConfig({
      file,
      env: { MEGANET_LISTEN_TCP_PORT: '6001', MEGANET_RELAY_CIRCUIT_DURATION_LIMIT: '90s' },
      flags: { 'listen.tcpPort': '7001' }
    })
    expect(config.listen.tcpPort).toBe(7001)
    expect(config.listen.wsPort).toBe(5002)
    expect(config.relay.circuitDataLimit).toBe(1024 * 1024)
    expect(config.relay.circuitDurationLimit).toBe(90_000)
  })

  it('reads JSON files and lifts limits with "unlimited"', async () => {
    const file = await configFile(JSON.stringify({ relay: { circuitDataLimit: 'unlimited', circuitDurationLimit: null } }), 'anchor.json')
    const config = loadAnchorConfig({ file })
    expect(config.relay.circuitDataLimit).toBeNull()
    expect(config.relay.circuitDurationLimit).toBeNull()
  })

  it('reads peering as <URL>#<PeerId>+<PeerId>, and refuses entries without pins, other schemes and credentials', () => {
    const pin = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq'
    const config = loadAnchorConfig({ flags: { peering: `https://a.example/bootstrap#${pin}+${pin},http://b.example:9464/bootstrap#${pin}` } })
    expect(config.peering).toEqual([{ bootstrapUrl: 'https://a.example/bootstrap', pins: [pin, pin] }, { bootstrapUrl: 'http://b.example:9464/bootstrap', pins: [pin] }])
    for (const [entry, message] of [
      ['https://a.example/bootstrap', /pin the fleet's anchors by PeerId/],
      [`https://a.example/bootstrap#not-a-peer-id`, /pin the fleet's anchors by PeerId/],
      [`ftp://a.example/bootstrap#${pin}`, /is not an http\(s\) URL/],
      [`https://user:secret@a.example/bootstrap#${pin}`, /no credentials/]
    ] as const) {
      const problems = problemsOf(() => loadAnchorConfig({ flags: { peering: entry } }))
      expect(problems.map(p => p.message).join(' ')).toMatch(message)
      expect(problems.map(p => p.message).join(' ')).not.toContain('secret')
    }
  })

  it('names every wrong field with its source and what is allowed', () => {
    const problems = problemsOf(() => loadAnchorConfig({
      env: { MEGANET_RELAY_MAX_RESERVATIONS_PER_IP: '-1' },
      flags: { 'listen.tcpPort': '70000', 'log.level': 'loud', 'relay.circuitDataLimit': '12 parsecs' }
    }))
    expect(problems).toEqual(expect.arrayContaining([
      expect.objectContaining({ field: 'relay.maxReservationsPerIp', source: 'env MEGANET_RELAY_MAX_RESERVATIONS_PER_IP', message: expect.stringContaining('whole number') as string }),
      expect.objectContaining({ field: 'listen.tcpPort', source: 'flag --listen-tcp-port' }),
      expect.objectContaining({ field: 'log.level', source: 'flag --log-level', message: expect.stringContaining('trace, debug, info') as string }),
      expect.objectContaining({ field: 'relay.circuitDataLimit', message: expect.stringContaining('unlimited') as string })
    ]))
    expect(problems).toHaveLength(4)
  })

  it('refuses unknown options in a file instead of ignoring them', async () => {
    const file = await configFile('relay:\n  maxReservation: 5\ncolour: blue\n')
    const problems = problemsOf(() => loadAnchorConfig({ file }))
    expect(problems.map(p => p.field)).toEqual(expect.arrayContaining(['relay.maxReservation', 'colour']))
    expect(problems.every(p => p.message === 'unknown option' && p.source === `file ${file}`)).toBe(true)
  })

  it('refuses bootstrap addresses that do not pin a PeerId', () => {
    const problems = problemsOf(() => loadAnchorConfig({ flags: { bootstrap: '/ip4/10.0.0.1/tcp/4001,not-an-address' } }))
    expect(problems.map(p => p.message)).toEqual(expect.arrayContaining([
      expect.stringContaining('/p2p/<peerId>') as string,
      'not a valid multiaddr'
    ]))
  })

  it('refuses roles this build cannot serve', () => {
    const problems = problemsOf(() => loadAnchorConfig({ flags: { roles: 'relay,mining' } }))
    expect(problems[0]).toMatchObject({ field: 'roles', source: 'flag --roles' })
    expect(problems[0]?.message).toContain('each role must be one of bootstrap, relay, storage')
  })

  it('reports a config file that is not YAML', async () => {
    const file = await configFile('relay: [unclosed')
    expect(() => loadAnchorConfig({ file })).toThrow(/not valid YAML or JSON/)
    expect(() => loadAnchorConfig({ file: '/nonexistent/anchor.yaml' })).toThrow(/cannot read/)
  })
})

describe('coordination settings', () => {
  it('reads NATS servers, fleet scope and durations', () => {
    const config = loadAnchorConfig({
      env: { MEGANET_NATS_SERVERS: 'nats://a:4222,nats://b:4222', MEGANET_FLEET_REGION: 'eu-west' },
      flags: { 'fleet.name': 'berlin', 'coordination.heartbeat': '2s', 'coordination.memberTtl': '6s' }
    })
    expect(config.nats.servers).toEqual(['nats://a:4222', 'nats://b:4222'])
    expect(config.fleet).toMatchObject({ region: 'eu-west', name: 'berlin' })
    expect(config.coordination).toMatchObject({ heartbeat: 2000, memberTtl: 6000 })
  })

  it('refuses names that cannot scope subjects, conflicting credentials and a TTL shorter than two heartbeats', async () => {
    const file = await configFile('nats:\n  tls:\n    caFile: /ca.pem\n    cipher: none\n')
    const problems = problemsOf(() => loadAnchorConfig({
      file,
      flags: { 'fleet.region': 'EU_West', 'nats.credsFile': '/a.creds', 'nats.user': 'me', 'coordination.heartbeat': '10s', 'coordination.replicas': '2' }
    }))
    const fields = problems.map(p => p.field)
    expect(fields).toEqual(expect.arrayContaining(['fleet.region', 'nats', 'coordination.memberTtl', 'coordination.replicas', 'nats.tls.cipher']))
    expect(problems.find(p => p.field === 'nats')?.message).toContain('at most one of credsFile')
  })
})
