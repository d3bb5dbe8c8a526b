#!/usr/bin/env node
import { Command } from 'commander'
import { isConfigError } from '../config/errors.js'
import { VERSION } from '../version.js'
import { anchorCommand } from './anchor-command.js'
import { devnetCommand } from './devnet-command.js'
import { peerCommand } from './peer-command.js'

const program = new Command('meganet')
  .description('MegaNet: anchors, peers and local devnets')
  .version(VERSION)
  .addCommand(anchorCommand())
  .addCommand(peerCommand())
  .addCommand(devnetCommand())

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (isConfigError(err)) {
    process.stderr.write(`meganet: ${err.message}\n`)
    process.exit(2)
  }
  process.stderr.write(`meganet: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
}
