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
  /** The chart's default fleet (its mounted ConfigMap): created when missing, its values applied again when the file changes. */
  defaultFleetFile: z.string().optional(),
  /** Namespaces whose fleets the operator reconciles (with Roles there); empty means every namespace. */
  watchNamespaces: z.string().default('').transform(text => text.split(',').map(n => n.trim()).filter(n => n !== '')),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info')
}).refine(c => c.renewInterval < c.leaseDuration, { message: 'renewInterval must be shorter than leaseDuration', path: ['renewInterval'] })

export type OperatorConfig = z.infer<typeof operatorConfigSchema>

/** Settings from flags (`--lease-duration 15s`), falling back to `MEGANET_OPERATOR_*` env vars and the pod's own env. */
export function loadOperatorConfig (flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv, version: string): OperatorConfig {
  const pick = (flag: string, envName: string): string | undefined => flags[flag] ?? env[`MEGANET_OPERATOR_${envName}`]
  const raw = {
    kubeconfig: pick('kubeconfig', 'KUBECONFIG') ?? env.KUBECONFIG,
    namespace: pick('namespace', 'NAMESPACE') ?? env.POD_NAMESPACE ?? 'default',
    identity: pick('identity', 'IDENTITY') ?? env.POD_NAME ?? `${hostname()}-${process.pid}`,
    image: pick('image', 'IMAGE') ?? `ghcr.io/meganet/meganet:${version}`,
    version,
    healthHost: pick('health-host', 'HEALTH_HOST'),
    healthPort: pick('health-port', 'HEALTH_PORT'),
    metricsPort: pick('metrics-port', 'METRICS_PORT'),
    leaseName: pick('lease-name', 'LEASE_NAME'),
    leaseDuration: pick('lease-duration', 'LEASE_DURATION'),
    renewInterval: pick('renew-interval', 'RENEW_INTERVAL'),
    resync: pick('resync', 'RESYNC'),
    memberTtl: pick('member-ttl', 'MEMBER_TTL'),
    natsCredsFile: pick('nats-creds-file', 'NATS_CREDS_FILE'),
    commandKeyFile: pick('command-key-file', 'COMMAND_KEY_FILE'),
    watchNamespaces: pick('watch-namespaces', 'WATCH_NAMESPACES'),
    defaultFleetFile: pick('default-fleet-file', 'DEFAULT_FLEET_FILE'),
    logLevel: pick('log-level', 'LOG_LEVEL')
  }
  const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = operatorConfigSchema.safeParse(defined)
  if (!parsed.success) {
    throw new Error(`invalid operator configuration:\n${parsed.error.issues.map(i => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}`)
  }
  return parsed.data
}
