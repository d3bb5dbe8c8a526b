#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { pino } from 'pino'
import { loadSigningKey } from '@meganet/fleet-client'
import { Operator } from './operator.js'
import { loadOperatorConfig } from './operator-config.js'

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

function flags (argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`meganet-operator ${version}: reconciles AnchorFleet resources.
Flags (or MEGANET_OPERATOR_<NAME> env vars): --kubeconfig, --namespace (lease namespace; $POD_NAMESPACE),
--identity ($POD_NAME), --image (anchor image by default), --health-port 8080, --metrics-port 9465,
--lease-name meganet-operator, --lease-duration 15s, --renew-interval 2s, --resync 5m, --member-ttl 15s,
--nats-creds-file, --command-key-file (signs drain/undrain; anchors trust it), --watch-namespaces a,b (only these namespaces; default all),
--default-fleet-file (the chart's default fleet: created when missing, its values applied when the file changes), --log-level info\n`)
      process.exit(0)
    }
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)}`)
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined]
    const value = inline ?? argv[++i]
    if (value == null) throw new Error(`--${name} needs a value`)
    out[name] = value
  }
  return out
}

let operator: Operator | undefined
try {
  const config = loadOperatorConfig(flags(process.argv.slice(2)), process.env, version)
  const log = pino({ level: config.logLevel, base: { component: 'operator', identity: config.identity } }, pino.destination(2))
  // Read now: a missing or wrong key stops the start, not the first scale-down.
  const commandKey = config.commandKeyFile != null ? await loadSigningKey(config.commandKeyFile) : undefined
  if (commandKey == null) log.warn('no --command-key-file: the operator cannot drain anchors, so it scales down only fleets without storage or with force')
  operator = new Operator(config, log, commandKey != null ? { commandKey } : {})
  const current = operator
  const shutdown = (signal: string): void => {
    log.info({ signal }, 'stopping')
    void current.stop().finally(() => process.exit(0))
  }
  process.once('SIGTERM', () => { shutdown('SIGTERM') })
  process.once('SIGINT', () => { shutdown('SIGINT') })
  // Losing the lease means another replica leads now: this one stops reconciling and stands by.
  await operator.start(() => { log.warn('leadership lost; standing by') })
} catch (err) {
  process.stderr.write(`meganet-operator: ${(err as Error).message}\n`)
  process.exit(2)
}
