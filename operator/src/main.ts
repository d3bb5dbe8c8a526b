#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { pino } from 'pino'
import { loadSigningKey } from '@meganet/fleet-client'
import { Operator } from './operator.js'
import { loadOperatorConfig, operatorHelp, parseOperatorFlags } from './operator-config.js'

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

let operator: Operator | undefined
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(operatorHelp(version))
  process.exit(0)
}
try {
  const config = loadOperatorConfig(parseOperatorFlags(process.argv.slice(2)), process.env, version)
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
