import { Command, Option } from 'commander'
import { Anchor } from '../anchor/anchor.js'
import { loadAnchorConfig } from '../config/anchor-config.js'
import { ANCHOR_OPTIONS, envName, flagName } from '../config/anchor-options.js'
import { createLogger } from '../logging/logger.js'
import { runUntilSignal } from './signals.js'

export function anchorCommand (): Command {
  const command = new Command('anchor')
    .description('run an anchor: DHT server, bootstrap and relay for peers')
    .option('--config <file>', 'YAML or JSON config file (env MEGANET_CONFIG); flags override env vars, which override the file')
  const options = new Map<string, Option>()
  for (const spec of ANCHOR_OPTIONS) {
    const valueSyntax = spec.kind === 'boolean' ? '[bool]' : '<value>'
    const option = new Option(`--${flagName(spec.path)} ${valueSyntax}`, `${spec.description} (default ${spec.defaultText}; env ${envName(spec.path)})`)
    options.set(spec.path, option)
    command.addOption(option)
  }
  command.action(async () => {
    const flags: Record<string, string> = {}
    for (const [path, option] of options) {
      const value: unknown = command.getOptionValue(option.attributeName())
      if (typeof value === 'string' || typeof value === 'boolean') flags[path] = String(value)
    }
    const file = (command.getOptionValue('config') as string | undefined) ?? process.env.MEGANET_CONFIG
    const config = loadAnchorConfig({ flags, env: process.env, ...(file != null && file !== '' ? { file } : {}) })
    const log = createLogger(config.log.level, { component: 'anchor' })
    const anchor = await Anchor.create(config, log)
    await anchor.start()
    await runUntilSignal(log, async () => await anchor.stop(), config.shutdownGrace)
  })
  return command
}
