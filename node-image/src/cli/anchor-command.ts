import { Command, Option } from 'commander'
import { ANCHOR_OPTIONS, envName, flagName } from '../config/anchor-options.js'
import { createLogger } from '../logging/logger.js'
import { startTransferGc } from '../runtime/transfer-gc.js'
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
    // Loaded here, not at the top: every other command (`meganet peer send` most of all) would
    // pay for loading the config parser and the whole anchor (libp2p servers, NATS, storage).
    const { loadAnchorConfig } = await import('../config/anchor-config.js')
    const config = loadAnchorConfig({ flags, env: process.env, ...(file != null && file !== '' ? { file } : {}) })
    const log = createLogger(config.log.level, { component: 'anchor' })
    // For the process's life: an anchor moves bulk bytes until it exits.
    startTransferGc('anchor')
    const [{ Anchor }, { waitForAnnounceFile, watchAnnounceFile }] = await Promise.all([import('../anchor/anchor.js'), import('../anchor/announce-file.js')])
    // Addresses the operator works out for this pod (NodePort, HostPort, LoadBalancer exposure).
    const announceFile = config.announceFile != null ? { path: config.announceFile, log, ...(process.env.NODE_NAME != null ? { nodeName: process.env.NODE_NAME } : {}) } : undefined
    const announced = announceFile != null ? await waitForAnnounceFile({ ...announceFile, timeoutMs: config.announceWait }) : { addresses: [], udpPorts: new Map<number, number>() }
    const anchor = await Anchor.create({ ...config, announce: [...config.announce, ...announced.addresses] }, log, { announcedUdpPorts: announced.udpPorts })
    await anchor.start()
    const stopWatching = announceFile != null
      ? watchAnnounceFile({
        ...announceFile,
        current: announced,
        onChange: changed => {
          log.warn({ addresses: changed.addresses }, 'announce addresses changed; restarting to announce them')
          process.kill(process.pid, 'SIGTERM')
        }
      })
      : () => {}
    await runUntilSignal(log, async () => { stopWatching(); await anchor.stop() }, config.shutdownGrace)
  })
  return command
}
