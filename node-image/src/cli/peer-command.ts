import { Command, InvalidArgumentError } from 'commander'
import { collect } from './list-option.js'
import { loadOrCreateIdentity } from '../identity/identity.js'
import { createLogger } from '../logging/logger.js'
import { MeganetPeer, parsePeerIdText } from '../peer/peer.js'
import { fileBootstrapCache } from '../peer/file-bootstrap-cache.js'
import { checkedArgument } from './checked-argument.js'
import { SIGNAL_EXIT_CODES, nextSignal } from './signals.js'
import { getFileCommand, putFileCommand } from './peer-file-commands.js'
import type { PeerOptions } from '../peer/peer.js'

interface JoinFlags {
  anchor: string[]
  bootstrapUrl?: string
  trust: string[]
  identityFile?: string
  bootstrapCache?: string
  relays?: number
  listenTcp?: boolean
  allowPrivateAddresses?: boolean
  json?: boolean
  logLevel: string
}

function positiveInteger (text: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('expected a whole number >= 1')
  return value
}

const peerIdArgument = checkedArgument(parsePeerIdText)

function withJoinOptions (command: Command): Command {
  return command
    .option('-a, --anchor <multiaddr>', 'anchor to join through, ending in /p2p/<peerId> (repeatable, or comma-separated; env MEGANET_ANCHORS)', collect, [])
    .option('--bootstrap-url <url>', 'an anchor\'s signed bootstrap list, e.g. http://anchor:9464/bootstrap')
    .option('--trust <peerId>', 'anchor PeerId allowed to sign the bootstrap list (repeatable; default: the --anchor PeerIds)', collect, [])
    .option('--bootstrap-cache <file>', 'keep the last verified bootstrap list here: used when --bootstrap-url cannot be reached, and it names the peered fleets to go to when every anchor is gone')
    .option('--identity-file <file>', 'keep this peer\'s key here so its PeerId survives restarts (created when missing)')
    .option('--listen-tcp', 'also listen on a TCP port so relayed connections can be upgraded to direct ones')
    .option('--allow-private-addresses', 'keep loopback and private addresses (devnets, LANs)')
    .option('--log-level <level>', 'log level for libp2p-side events on stderr', 'warn')
}

/** `--json`: results as one JSON object per line on stdout, for scripts. */
function withJsonOption (command: Command): Command {
  return command.option('--json', 'print results as JSON lines, for scripts')
}

/**
 * Joins with the command's flags. Only `listen` must be reachable; the other commands reach out,
 * hold no relay reservation and start as soon as an anchor answers.
 */
async function joinNetwork (flags: JoinFlags, reachable = false): Promise<MeganetPeer> {
  const anchors = [...flags.anchor, ...collect(process.env.MEGANET_ANCHORS ?? '', [])]
  const options: PeerOptions = {
    anchors,
    relays: reachable ? flags.relays ?? 1 : 0,
    listenTcp: flags.listenTcp === true,
    allowPrivateAddresses: flags.allowPrivateAddresses === true,
    log: createLogger(flags.logLevel, { component: 'peer' }),
    ...(flags.bootstrapUrl != null ? { bootstrapUrl: flags.bootstrapUrl } : {}),
    ...(flags.trust.length > 0 ? { trustedAnchors: flags.trust } : {}),
    ...(flags.bootstrapCache != null ? { bootstrapCache: fileBootstrapCache(flags.bootstrapCache) } : {}),
    ...(flags.identityFile != null ? { privateKey: (await loadOrCreateIdentity(flags.identityFile, { create: true })).key } : {})
  }
  const peer = await MeganetPeer.create(options)
  await peer.start()
  return peer
}

export function peerCommand (): Command {
  const peer = new Command('peer').description('act as a peer: listen for messages, send them, ping other peers by PeerId')

  peer.addCommand(withJoinOptions(new Command('listen'))
    .description('join the network, print this peer\'s PeerId and address, then every message received')
    .option('--relays <count>', 'relay reservations to hold, on different anchors', positiveInteger, 1)
    .action(async (flags: JoinFlags) => {
      const node = await joinNetwork(flags, true)
      process.stdout.write([`peer ${node.peerId}`, ...node.circuitAddresses().map(a => `reachable at ${a}`)].join('\n') + '\n')
      node.onMessage(message => {
        process.stdout.write(`${message.from}${message.relayed ? ' (relayed)' : ''}: ${new TextDecoder().decode(message.data)}\n`)
      })
      const signal = await nextSignal()
      await node.stop()
      process.exitCode = SIGNAL_EXIT_CODES[signal] ?? 1
    }))

  peer.addCommand(withJsonOption(withJoinOptions(new Command('send')))
    .description('send a text message to a peer known only by its PeerId')
    .argument('<peerId>', 'the receiving peer', peerIdArgument)
    .argument('<text...>', 'the message')
    .action(async (peerId: string, words: string[], flags: JoinFlags) => {
      const node = await joinNetwork(flags)
      try {
        await node.send(peerId, new TextEncoder().encode(words.join(' ')))
        process.stdout.write(flags.json === true ? `${JSON.stringify({ delivered: true, to: peerId })}\n` : `delivered to ${peerId}\n`)
      } finally {
        await node.stop()
      }
    }))

  peer.addCommand(withJsonOption(withJoinOptions(new Command('ping')))
    .description('measure the round-trip time to a peer and show whether the path is relayed or direct')
    .argument('<peerId>', 'the peer to ping', peerIdArgument)
    .option('-c, --count <n>', 'how many pings', positiveInteger, 3)
    .action(async (peerId: string, flags: JoinFlags & { count: number }) => {
      const node = await joinNetwork(flags)
      try {
        for (let i = 0; i < flags.count; i++) {
          const result = await node.ping(peerId)
          process.stdout.write(flags.json === true
            ? `${JSON.stringify({ from: peerId, rttMs: result.rttMs, path: result.path })}\n`
            : `pong from ${peerId}: ${result.rttMs.toFixed(1)} ms (${result.path})\n`)
        }
      } finally {
        await node.stop()
      }
    }))

  const joinForFiles = async (flags: JoinFlags): Promise<{ blocks: ReturnType<MeganetPeer['blocks']>, stop: () => Promise<void> }> => {
    const node = await joinNetwork(flags)
    return { blocks: node.blocks(), stop: async () => { await node.stop() } }
  }
  peer.addCommand(withJsonOption(withJoinOptions(putFileCommand(joinForFiles))))
  peer.addCommand(withJsonOption(withJoinOptions(getFileCommand(joinForFiles))))

  return peer
}
