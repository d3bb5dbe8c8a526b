import { Command, InvalidArgumentError } from 'commander'
import { collect } from './list-option.js'
import { multiaddr } from '@multiformats/multiaddr'
import { isBrowserDialable } from '@meganet/contracts'
import { serveWebApp } from '../webapp/web-server.js'
import { nextSignal } from './signals.js'

function anchorAddress (text: string, previous: string[]): string[] {
  const found: string[] = []
  for (const part of text.split(',').map(s => s.trim()).filter(s => s.length > 0)) {
    try {
      multiaddr(part)
    } catch {
      throw new InvalidArgumentError(`${JSON.stringify(part)} is not a multiaddr: copy an anchor address such as /ip4/203.0.113.7/udp/4003/webrtc-direct/certhash/uEi…/p2p/12D3Koo…`)
    }
    if (!part.includes('/p2p/')) throw new InvalidArgumentError(`${part} has no /p2p/<PeerId>: add the anchor's PeerId so the page can check it is talking to that anchor`)
    found.push(part)
  }
  return [...previous, ...found]
}

function port (text: string): number {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new InvalidArgumentError('expected a port number 0-65535')
  return value
}

export function webCommand (): Command {
  return new Command('web')
    .description('serve the MegaNet web app for a fleet: a page that joins through these anchors, messages peers by PeerId and shares files by link')
    .option('-a, --anchor <multiaddr>', 'anchor the page joins through, ending in /p2p/<PeerId> (repeatable, or comma-separated): WebRTC-direct (/webrtc-direct/certhash/…) or WSS (/tls/ws); plain /ws only from http:// pages', anchorAddress, [])
    .option('--host <address>', 'address to serve on', '127.0.0.1')
    .option('-p, --port <port>', 'port to serve on (0 picks a free one)', port, 8080)
    .option('--allow-private-addresses', 'let the page dial loopback and private addresses (devnets, LANs)')
    .option('--network <name>', 'a name for the network, shown on the page')
    .option('--bootstrap-url <url>', 'an anchor\'s signed bootstrap list for the page to join through (kept in the browser; names the peered fleets to fall back on)')
    .option('--trust <peerId>', 'anchor PeerId allowed to sign the bootstrap list (repeatable, or comma-separated)', collect, [])
    .action(async (options: { anchor: string[], host: string, port: number, allowPrivateAddresses?: boolean, network?: string, bootstrapUrl?: string, trust: string[] }) => {
      if (options.anchor.length === 0 && options.bootstrapUrl == null) {
        throw new InvalidArgumentError('give at least one --anchor (an anchor\'s WebRTC-direct or WSS multiaddr, see its /status or the devnet\'s output) or a --bootstrap-url')
      }
      if (options.bootstrapUrl != null && options.trust.length === 0) throw new InvalidArgumentError('--bootstrap-url needs --trust <anchor PeerId>: the keys allowed to sign the list')
      const dialable = options.anchor.filter(a => isBrowserDialable(a) || a.includes('/ws'))
      if (options.anchor.length > 0 && dialable.length === 0) process.stderr.write('meganet web: none of the anchors has a WebRTC-direct, WSS or WebSocket address: a browser cannot dial TCP; give those addresses instead\n')
      const served = await serveWebApp({
        anchors: options.anchor,
        allowPrivateAddresses: options.allowPrivateAddresses === true,
        ...(options.network != null ? { network: options.network } : {}),
        ...(options.bootstrapUrl != null ? { bootstrapUrl: options.bootstrapUrl, trustedAnchors: options.trust } : {})
      }, { host: options.host, port: options.port })
      process.stdout.write(`web app  ${served.url}\n`)
      await nextSignal()
      await served.close()
    })
}
