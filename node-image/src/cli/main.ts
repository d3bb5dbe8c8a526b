#!/usr/bin/env node
import { Command, CommanderError } from 'commander'
import { isConfigError } from '../config/errors.js'
import { VERSION } from '../version.js'
import { userMessage } from '../peer/user-message.js'
import { anchorCommand } from './anchor-command.js'
import { devnetCommand } from './devnet-command.js'
import { peerCommand } from './peer-command.js'
import { webCommand } from './web-command.js'

const program = new Command('meganet')
  .description('MegaNet: anchors, peers and local devnets')
  .version(VERSION)
  .addCommand(anchorCommand())
  .addCommand(peerCommand())
  .addCommand(devnetCommand())
  .addCommand(webCommand())

/** Exit codes: 0 done, 1 failed, 2 the command line or configuration is wrong, 130 interrupted (Ctrl-C). */
const USAGE_EXIT = 2

// Commander exits with 1 on a usage error; route its exits here instead, on every subcommand.
const everyCommand = (command: Command): Command[] => [command, ...command.commands.flatMap(everyCommand)]
for (const command of everyCommand(program)) command.exitOverride()

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and --version "fail" with exit code 0; commander has already printed its message.
    process.exit(err.exitCode === 0 ? 0 : USAGE_EXIT)
  }
  if (isConfigError(err)) {
    process.stderr.write(`meganet: ${err.message}\n`)
    process.exit(USAGE_EXIT)
  }
  process.stderr.write(`meganet: ${userMessage(err)}\n`)
  process.exit(1)
}
