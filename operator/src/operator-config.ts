import { hostname } from 'node:os'
import { z } from 'zod'

const duration = z.string().regex(/^\d+(ms|s|m)$/, { message: 'expected a duration such as 500ms, 15s or 5m' })
  .transform(text => {
    const match = /^(\d+)(ms|s|m)$/.exec(text)
    const factor = match?.[2] === 'ms' ? 1 : match?.[2] === 's' ? 1000 : 60_000
    return Number(match?.[1]) * factor
  })
const port = z.coerce.number().int().min(0).max(65535)

export const operatorConfigSchema = z.object({
  kubeconfig: z.string().optional(),
  /** Namespace of the leader-election Lease (the operator's own). */
  namespace: z.string().min(1),
  identity: z.string().min(1),
  image: z.string().min(1),
  version: z.string().min(1),
  healthHost: z.string().default('0.0.0.0'),
  healthPort: port.default(8080),
  metricsPort: port.default(9465),
  leaseName: z.string().default('meganet-operator'),
  leaseDuration: duration.default(15_000),
  renewInterval: duration.default(2_000),
  resync: duration.default(300_000),
  memberTtl: duration.default(15_000),
  natsCredsFile: z.string().optional(),
  /** Ed25519 key (PEM or libp2p protobuf) that signs drain/undrain; anchors are told to trust it. */
  commandKeyFile: z.string().optional(),
  /**
   * NATS servers (comma-separated) whose logins this operator decides (auth callout): anchors of
   * its fleets are admitted by their identity key. Needs commandKeyFile, whose key signs the answers.
   */
  natsAuthServers: z.string().optional(),
  /** CA bundle that verifies the NATS servers (TLS) the operator connects to. */
  natsCaFile: z.string().optional(),
  /** ConfigMap in the operator's namespace that receives the NATS auth config (`auth.conf`) for the chart's NATS. */
  natsAuthConfigMap: z.string().optional(),
  /** The chart's default fleet (its mounted ConfigMap): created when missing, its values applied again when the file changes. */
  defaultFleetFile: z.string().optional(),
  /** Namespaces whose fleets the operator reconciles (with Roles there); empty means every namespace. */
  watchNamespaces: z.string().default('').transform(text => text.split(',').map(n => n.trim()).filter(n => n !== '')),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info')
}).refine(c => c.renewInterval < c.leaseDuration, { message: 'renewInterval must be shorter than leaseDuration', path: ['renewInterval'] })
  .refine(c => (c.natsAuthServers == null && c.natsAuthConfigMap == null) || c.commandKeyFile != null,
    { message: 'deciding NATS logins needs --command-key-file: its key signs the answers and is the issuer nats-server trusts', path: ['natsAuthServers'] })

export type OperatorConfig = z.infer<typeof operatorConfigSchema>

type OptionKey = Exclude<keyof z.input<typeof operatorConfigSchema>, 'version'>

interface OperatorOption {
  readonly key: OptionKey
  /** For --help: what it is, with its default when it has one. */
  readonly help: string
  /** Where the value comes from when neither the flag nor MEGANET_OPERATOR_<NAME> gives it. */
  readonly fallback?: (env: NodeJS.ProcessEnv, version: string) => string | undefined
}

/** Every operator option, once: flags, env var names and --help all come from this table. */
export const OPERATOR_OPTIONS: readonly OperatorOption[] = [
  { key: 'kubeconfig', help: 'kubeconfig file (default: in-cluster, $KUBECONFIG, ~/.kube/config)', fallback: env => env.KUBECONFIG },
  { key: 'namespace', help: 'namespace of the leader-election Lease (default: $POD_NAMESPACE, else default)', fallback: env => env.POD_NAMESPACE ?? 'default' },
  { key: 'identity', help: 'this replica\'s name in the Lease (default: $POD_NAME, else host-pid)', fallback: env => env.POD_NAME ?? `${hostname()}-${process.pid}` },
  { key: 'image', help: 'anchor image for fleets that name none (default: ghcr.io/meganet/meganet:<version>)', fallback: (_env, version) => `ghcr.io/meganet/meganet:${version}` },
  { key: 'healthHost', help: 'address for /healthz and /readyz (and metrics) (default 0.0.0.0)' },
  { key: 'healthPort', help: 'port for /healthz and /readyz (default 8080)' },
  { key: 'metricsPort', help: 'port for /metrics (default 9465)' },
  { key: 'leaseName', help: 'name of the leader-election Lease (default meganet-operator)' },
  { key: 'leaseDuration', help: 'a lease not renewed for this long may be taken over (default 15s)' },
  { key: 'renewInterval', help: 'how often the leader renews (default 2s)' },
  { key: 'resync', help: 'reconcile every fleet at least this often (default 5m)' },
  { key: 'memberTtl', help: 'anchor member records are stale after this long (default 15s)' },
  { key: 'natsCredsFile', help: 'NATS credentials file for reaching fleets\' NATS' },
  { key: 'commandKeyFile', help: 'key that signs drain/undrain commands; anchors are told to trust it' },
  { key: 'natsAuthServers', help: 'NATS (comma-separated URLs) whose logins this operator decides by auth callout: its fleets\' anchors log in with their identity key' },
  { key: 'natsCaFile', help: 'CA bundle that verifies the NATS servers (TLS), e.g. the chart\'s <release>-nats-ca' },
  { key: 'natsAuthConfigMap', help: 'ConfigMap (operator namespace) to write that NATS\'s auth config into (accounts, auth_callout issuer)' },
  { key: 'watchNamespaces', help: 'only these namespaces, comma-separated, with Roles there (default: all)' },
  { key: 'defaultFleetFile', help: 'the chart\'s default fleet: created when missing, its values applied when the file changes' },
  { key: 'logLevel', help: 'trace, debug, info, warn, error or fatal (default info)' }
]

const kebab = (key: string): string => key.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
const envNameOf = (key: string): string => `MEGANET_OPERATOR_${kebab(key).replace(/-/g, '_').toUpperCase()}`

/** A wrong flag or value: one line naming it and what to do. */
export class OperatorConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'OperatorConfigError'
  }
}

/** `meganet-operator --help`, from the options table. */
export function operatorHelp (version: string): string {
  const width = Math.max(...OPERATOR_OPTIONS.map(o => kebab(o.key).length)) + 2
  return [
    `meganet-operator ${version}: reconciles AnchorFleet resources.`,
    'Each option is a flag (--name value or --name=value) or a MEGANET_OPERATOR_<NAME> env var; a flag wins.',
    '',
    ...OPERATOR_OPTIONS.map(o => `  --${kebab(o.key).padEnd(width)}${o.help}`)
  ].join('\n') + '\n'
}

/** Flags as `name -> value`; an unknown flag or one without a value is a usage error. */
export function parseOperatorFlags (argv: readonly string[]): Record<string, string> {
  const known = new Set(OPERATOR_OPTIONS.map(o => kebab(o.key)))
  const out: Record<string, string> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (!arg.startsWith('--')) throw new OperatorConfigError(`unexpected argument ${JSON.stringify(arg)}: options are flags such as --namespace meganet (see --help)`)
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined]
    if (!known.has(name)) throw new OperatorConfigError(`unknown flag --${name}: see --help for the options`)
    const value = inline ?? argv[++i]
    if (value == null) throw new OperatorConfigError(`--${name} needs a value`)
    out[name] = value
  }
  return out
}

/** Settings from flags (`--lease-duration 15s`), falling back to `MEGANET_OPERATOR_*` env vars and the pod's own env. */
export function loadOperatorConfig (flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv, version: string): OperatorConfig {
  const raw: Record<string, string | undefined> = { version }
  for (const option of OPERATOR_OPTIONS) {
    raw[option.key] = flags[kebab(option.key)] ?? env[envNameOf(option.key)] ?? option.fallback?.(env, version)
  }
  const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = operatorConfigSchema.safeParse(defined)
  if (!parsed.success) {
    throw new OperatorConfigError(`invalid operator configuration: ${parsed.error.issues.map(i => {
      const key = String(i.path[0] ?? '')
      return key === '' ? i.message : `--${kebab(key)} (${envNameOf(key)}): ${i.message}`
    }).join('; ')}`)
  }
  return parsed.data
}
