import { readFileSync } from 'node:fs'
import { multiaddr } from '@multiformats/multiaddr'
import { parse as parseYaml } from 'yaml'
import { ANCHOR_ROLES, MAX_BLOCK_BYTES, MAX_PEERED_FLEETS, scopeName } from '@meganet/contracts'
import { z } from 'zod'
import { ANCHOR_DEFAULTS, ANCHOR_OPTIONS, envName, flagName } from './anchor-options.js'
import { ConfigError } from './errors.js'
import { normalizeFileValue, parseOptionText } from './option-values.js'
import type { ConfigProblem } from './errors.js'
import type { ParsedValue } from './option-values.js'

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
const SERVABLE_ROLES = ANCHOR_ROLES

const port = z.number().int().min(0).max(65535)
const count = z.number().int().min(0)
const positiveCount = z.number().int().min(1)
const durationMs = z.number().int().min(1)
const limit = z.number().int().min(1).nullable()

function isMultiaddr (text: string): boolean {
  try {
    multiaddr(text)
    return true
  } catch {
    return false
  }
}

/** Run cross-field checks even when other fields are wrong, so one start reports every problem. */
const always = (): boolean => true

const multiaddrText = z.string().refine(isMultiaddr, { message: 'not a valid multiaddr' })
/** An Ed25519 PeerId (12D3KooW…): how keys that sign commands and grants are named. */
const keyPeerId = z.string().regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, { message: 'must be the PeerId (12D3KooW…) of an Ed25519 key' })
const anchorAddress = multiaddrText.refine(text => text.includes('/p2p/'), {
  message: 'must end in /p2p/<peerId> so the anchor is pinned by key'
})

const PEERING_FORMAT = 'expected <bootstrap list URL>#<anchor PeerId>[+<PeerId>...], e.g. https://anchors.example.org/bootstrap#12D3KooW…'

/** `<bootstrap list URL>#<pin>[+<pin>...]`: another operator's fleet, pinned by the PeerIds that may sign its list. */
const peeringEntry = z.string().transform((text, ctx) => {
  const hash = text.lastIndexOf('#')
  const bootstrapUrl = hash < 0 ? text : text.slice(0, hash)
  const pins = hash < 0 ? [] : text.slice(hash + 1).split('+').filter(pin => pin.length > 0)
  let url: URL | undefined
  try {
    url = new URL(bootstrapUrl)
  } catch {
    url = undefined
  }
  if (url != null && (url.username !== '' || url.password !== '')) {
    ctx.addIssue({ code: 'custom', message: `${url.host}: put no credentials in a peering URL (it is shown in /status and sent to the operator): ${PEERING_FORMAT}` })
    return z.NEVER
  }
  if (url == null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(bootstrapUrl)} is not an http(s) URL: ${PEERING_FORMAT}` })
    return z.NEVER
  }
  if (pins.length === 0 || pins.some(pin => !keyPeerId.safeParse(pin).success)) {
    ctx.addIssue({ code: 'custom', message: `pin the fleet's anchors by PeerId after "#": ${PEERING_FORMAT}` })
    return z.NEVER
  }
  return { bootstrapUrl, pins }
})

export const anchorConfigSchema = z.strictObject({
  dataDir: z.string().min(1),
  identityFile: z.string().min(1).optional(),
  roles: z.array(z.enum(SERVABLE_ROLES, {
    message: `each role must be one of ${SERVABLE_ROLES.join(', ')}`
  })).min(1, { message: 'at least one role' }),
  listen: z.strictObject({ host: z.string().min(1), tcpPort: port, wsPort: port, webrtcDirectPort: port, webrtcDirectRotationPort: port })
    .refine(l => l.webrtcDirectPort === 0 || l.webrtcDirectPort !== l.webrtcDirectRotationPort, {
      message: 'webrtcDirectPort and webrtcDirectRotationPort must differ (they take turns during a certificate rotation)', path: ['webrtcDirectRotationPort'], when: always
    }),
  webrtcDirect: z.strictObject({ enabled: z.boolean(), certificateLifetime: durationMs, certificateOverlap: durationMs })
    .refine(w => !(w.certificateOverlap * 2 > w.certificateLifetime), {
      message: 'certificateOverlap can be at most half of certificateLifetime', path: ['certificateOverlap'], when: always
    }),
  wss: z.strictObject({ certFile: z.string().min(1).optional(), keyFile: z.string().min(1).optional(), reloadInterval: durationMs })
    .refine(w => (w.certFile == null) === (w.keyFile == null), { message: 'wss.certFile and wss.keyFile go together', path: ['certFile'], when: always }),
  announce: z.array(multiaddrText),
  announceFile: z.string().min(1).optional(),
  announceWait: durationMs,
  bootstrap: z.array(anchorAddress),
  peeringRefresh: durationMs,
  peering: z.array(peeringEntry).max(MAX_PEERED_FLEETS, { message: `at most ${MAX_PEERED_FLEETS} peered fleets` }),
  http: z.strictObject({ host: z.string().min(1), port }),
  relay: z.strictObject({
    maxReservations: positiveCount,
    reservationTtl: durationMs,
    maxReservationsPerIp: count,
    maxReservationsPerPrefix: count,
    maxCircuitsPerPeer: count,
    maxCircuitsPerPair: count,
    maxCircuitsPerPrefixToPeer: count,
    circuitDataLimit: limit,
    circuitDurationLimit: limit.refine(ms => ms == null || ms >= 1000, { message: 'must be at least 1s: relays state it in whole seconds' }),
    circuitIdleTimeout: limit
  }),
  connections: z.strictObject({ max: positiveCount, maxPendingInbound: positiveCount, pingInterval: durationMs }),
  dht: z.strictObject({ allowPrivateAddresses: z.boolean(), maxRecords: positiveCount, maxRecordsPerPeer: positiveCount }),
  storage: z.strictObject({
    capacity: z.number().int().min(1),
    replication: z.number().int().min(1).max(16),
    writeQuorum: z.number().int().min(1),
    peerRate: z.number().int().min(1).nullable(),
    peerQuota: z.number().int().min(1).nullable(),
    prefixRate: z.number().int().min(1).nullable(),
    prefixQuota: z.number().int().min(1).nullable(),
    prefixShare: z.number().gt(0).max(1),
    leaseTtl: durationMs,
    peerLeaseQuota: z.number().int().min(1).nullable(),
    grantKeys: z.array(keyPeerId),
    maxInflight: z.number().int().min(MAX_BLOCK_BYTES, { message: `must hold at least one block (${MAX_BLOCK_BYTES} bytes)` }),
    repairInterval: durationMs,
    gcInterval: durationMs,
    gcGrace: durationMs
  }).refine(s => !(s.writeQuorum > s.replication), { message: 'writeQuorum cannot exceed replication', path: ['writeQuorum'], when: always }),
  fleet: z.strictObject({ region: scopeName, name: scopeName, pod: z.string().min(1).max(253).optional() }),
  nats: z.strictObject({
    servers: z.array(z.string().regex(/^(nats|tls|ws|wss):\/\/\S+$|^[\w.-]+:\d+$/, { message: 'expected a NATS URL such as nats://host:4222' })),
    credsFile: z.string().min(1).optional(),
    nkeySeedFile: z.string().min(1).optional(),
    identityNkey: z.boolean(),
    user: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    tls: z.strictObject({ caFile: z.string().min(1).optional(), certFile: z.string().min(1).optional(), keyFile: z.string().min(1).optional() })
  }).refine(n => [n.credsFile, n.nkeySeedFile, n.user, n.identityNkey ? true : undefined].filter(v => v != null).length <= 1, {
    message: 'give at most one of credsFile, nkeySeedFile, identityNkey and user/password', when: always
  }).refine(n => (n.tls?.certFile == null) === (n.tls?.keyFile == null), {
    message: 'tls.certFile and tls.keyFile go together', path: ['tls'], when: always
  }),
  coordination: z.strictObject({
    operatorKeys: z.array(keyPeerId),
    heartbeat: durationMs,
    memberTtl: durationMs,
    replicas: z.union([z.literal(1), z.literal(3), z.literal(5)], { message: 'must be 1, 3 or 5' }),
    drainTimeout: durationMs
  }).refine(c => !(c.memberTtl < 2 * c.heartbeat), { message: 'memberTtl must be at least twice the heartbeat', path: ['memberTtl'], when: always }),
  log: z.strictObject({ level: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }) }),
  shutdownGrace: durationMs
})

/** A validated anchor configuration. Durations are milliseconds, sizes bytes, `null` means no limit. */
export type AnchorConfig = z.infer<typeof anchorConfigSchema>

export interface ConfigSources {
  /** Flag values by option path, as text (commander gives text). */
  readonly flags?: Readonly<Record<string, string | undefined>>
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Path of a YAML or JSON config file. */
  readonly file?: string
}

type Tree = Record<string, unknown>

function setPath (tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.')
  let node = tree
  for (const key of keys.slice(0, -1)) {
    const next = node[key]
    if (next == null || typeof next !== 'object' || Array.isArray(next)) node[key] = {}
    node = node[key] as Tree
  }
  node[keys[keys.length - 1] ?? path] = value
}

function getPath (tree: unknown, path: string): unknown {
  let node: unknown = tree
  for (const key of path.split('.')) {
    if (node == null || typeof node !== 'object') return undefined
    node = (node as Tree)[key]
  }
  return node
}

function isTree (value: unknown): value is Tree {
  return value != null && typeof value === 'object' && !Array.isArray(value)
}

function copyUnknownKeys (target: Tree, source: Tree): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key]
    if (!(key in target)) target[key] = value
    else if (isTree(existing) && isTree(value)) copyUnknownKeys(existing, value)
  }
}

function readConfigFile (file: string): Tree {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError([{ field: 'config', source: `file ${file}`, message: `cannot read: ${(err as Error).message}` }], { cause: err })
  }
  let parsed: unknown
  try {
    parsed = parseYaml(text)
  } catch (err) {
    throw new ConfigError([{ field: 'config', source: `file ${file}`, message: `not valid YAML or JSON: ${(err as Error).message}` }], { cause: err })
  }
  if (parsed == null) return {}
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([{ field: 'config', source: `file ${file}`, message: 'must hold a mapping of options' }])
  }
  return parsed as Tree
}

/**
 * Builds the anchor configuration from defaults, then a config file, then `MEGANET_*`
 * environment variables, then flags (each overriding the one before), and validates it.
 * Throws a {@link ConfigError} naming every wrong field and where its value came from.
 */
export function loadAnchorConfig (sources: ConfigSources = {}): AnchorConfig {
  const merged = structuredClone(ANCHOR_DEFAULTS) as unknown as Tree
  const origin = new Map<string, string>()
  const problems: ConfigProblem[] = []
  const fileTree = sources.file != null ? readConfigFile(sources.file) : undefined

  for (const option of ANCHOR_OPTIONS) {
    const candidates: Array<{ source: string, read: () => ReturnType<typeof parseOptionText> }> = []
    const fileValue = getPath(fileTree, option.path)
    if (fileValue !== undefined) candidates.push({ source: `file ${sources.file}`, read: () => normalizeFileValue(option.kind, fileValue) })
    const envText = sources.env?.[envName(option.path)]
    if (envText !== undefined && envText !== '') candidates.push({ source: `env ${envName(option.path)}`, read: () => parseOptionText(option.kind, envText) })
    const flagText = sources.flags?.[option.path]
    if (flagText !== undefined) candidates.push({ source: `flag --${flagName(option.path)}`, read: () => parseOptionText(option.kind, flagText) })

    for (const candidate of candidates) {
      const result = candidate.read()
      if (!result.ok) {
        problems.push({ field: option.path, source: candidate.source, message: result.message })
        continue
      }
      setPath(merged, option.path, result.value satisfies ParsedValue)
      origin.set(option.path, candidate.source)
    }
  }

  // Keys in the file that no option knows: copied over so the strict schema names them.
  if (fileTree != null) copyUnknownKeys(merged, fileTree)

  const result = anchorConfigSchema.safeParse(merged)
  if (!result.success) {
    problems.push(...result.error.issues.map(issue => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : []
      const base = issue.path.filter(p => typeof p !== 'number').map(String).join('.')
      const field = keys.length > 0 ? keys.map(k => (base === '' ? k : `${base}.${k}`)).join(', ') : base || 'config'
      const message = keys.length > 0 ? 'unknown option' : issue.message
      const source = origin.get(base) ??
        (keys.length > 0 ? `file ${sources.file}` : [...origin.keys()].some(k => k.startsWith(`${base}.`)) ? 'settings combined' : 'default')
      return { field, source, message }
    }))
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems)
  return result.data
}
