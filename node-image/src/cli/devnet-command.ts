import { Command, InvalidArgumentError } from 'commander'
import { Devnet } from '../devnet/devnet.js'
import { findNatsServer } from '../devnet/nats-child.js'
import { formatBytes } from '../config/units.js'
import { shortId } from './format.js'
import { nextSignal } from './signals.js'
import type { AnchorStatus } from '../anchor/anchor-status.js'

const REFRESH_MS = 2_000
const PLAIN_EVERY_MS = 10_000

function positiveInteger (text: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('expected a whole number >= 1')
  return value
}

function webPort (text: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new InvalidArgumentError('expected a port number 0-65535')
  return value
}

function statusLine (index: number, status: AnchorStatus | Error): string {
  if (status instanceof Error) return `anchor-${index}  not answering: ${status.message}`
  return `anchor-${index}  ${shortId(status.peerId)}  ${status.phase.padEnd(8)} peers ${String(status.connections.total).padStart(4)}  ` +
    `reservations ${String(status.relay.reservations).padStart(4)}  circuits ${String(status.relay.circuits).padStart(3)}  ` +
    `relayed ${formatBytes(status.relay.relayedBytes).padStart(10)}  dht ${status.dht.routingTablePeers}` +
    (status.coordination.state === 'disabled' ? '' : `  nats ${status.coordination.state} (${status.coordination.members} members)`)
}

export function devnetCommand (): Command {
  return new Command('devnet')
    .description('run a local network of anchors on loopback (no Kubernetes or NATS needed); Ctrl-C stops it')
    .option('-n, --anchors <count>', 'how many anchors', positiveInteger, 3)
    .option('--data-dir <dir>', 'keep anchor data here (identities survive restarts); default: a temporary folder removed on exit')
    .option('--host <address>', 'address anchors listen on', '127.0.0.1')
    .option('--nats-server <binary>', 'nats-server to coordinate the anchors through (default: $MEGANET_NATS_SERVER, the test cache, or PATH)')
    .option('--no-nats', 'run without NATS even when nats-server is available')
    .option('--web-port <port>', 'port of the web app (a busy default port falls back to a free one)', webPort, 8080)
    .option('--no-web', 'do not serve the web app')
    .action(async (options: { anchors: number, dataDir?: string, host: string, natsServer?: string, nats: boolean, webPort: number, web: boolean }) => {
      const out = process.stdout
      const natsServer = options.nats ? options.natsServer ?? findNatsServer() : undefined
      out.write(`starting ${options.anchors} anchors…\n`)
      const devnet = await Devnet.start({
        anchors: options.anchors,
        host: options.host,
        ...(options.dataDir != null ? { dataDir: options.dataDir } : {}),
        ...(natsServer != null ? { natsServer } : {}),
        ...(options.web ? { web: { host: options.host, port: options.webPort, fallback: true } } : {})
      })
      out.write(`devnet up, data in ${devnet.dataDir}\n`)
      if (devnet.nats != null) out.write(`NATS ${devnet.nats.url} (JetStream): anchors coordinate as fleet "devnet" in region "local"\n\n`)
      else out.write('running WITHOUT NATS: no fleet coordination (membership, peer directory, drain). Install nats-server or pass --nats-server.\n\n')
      for (const [index, anchor] of devnet.anchors.entries()) {
        out.write(`anchor-${index}  ${anchor.peerId}\n  http  ${anchor.url('/status')}\n`)
        for (const address of anchor.multiaddrs) out.write(`  addr  ${address}\n`)
      }
      out.write(`\njoin it:  npx meganet peer listen --anchor ${devnet.anchors[0]?.tcpAddress ?? ''} --allow-private-addresses\n`)
      if (devnet.web != null) out.write(`web app:  ${devnet.web.url}  (open it in a browser: join, message peers by PeerId, share files)\n`)
      out.write('\n')

      let stopping = false
      let drawn = 0
      let lastPlain = 0
      const draw = async (): Promise<void> => {
        const lines = (await devnet.statuses()).map((s, i) => statusLine(i, s))
        if (stopping) return
        if (out.isTTY) {
          if (drawn > 0) out.write(`\x1b[${drawn}A`)
          for (const line of lines) out.write(`\x1b[2K${line}\n`)
          drawn = lines.length
        } else if (Date.now() - lastPlain >= PLAIN_EVERY_MS) {
          lastPlain = Date.now()
          for (const line of lines) out.write(`${new Date().toISOString()} ${line}\n`)
        }
      }
      const timer = setInterval(() => { void draw() }, REFRESH_MS)
      void draw()
      for (const anchor of devnet.anchors) {
        anchor.child.once('exit', (code, signal) => {
          if (stopping) return
          const how = signal != null ? `was killed by ${signal}` : `exited with code ${code ?? 'unknown'}`
          out.write(`anchor ${anchor.peerId} ${how}; the devnet does not restart anchors: stop it (Ctrl-C) and start it again for a full network\n`)
        })
      }
      await nextSignal()
      stopping = true
      clearInterval(timer)
      out.write('\nstopping anchors…\n')
      await devnet.stop()
      out.write('devnet stopped\n')
    })
}
