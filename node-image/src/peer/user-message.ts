import { BlockMismatchError } from '../files/block-transport.js'
import { DecryptError } from '../files/chunk-crypto.js'
import { LinkError } from '../files/link.js'
import { ManifestError } from '../files/manifest.js'
import { MessageError } from './messaging.js'
import { isPeerError } from './peer.js'

function firstLine (text: string): string {
  return text.split('\n')[0]?.trim() ?? ''
}

/**
 * One line for a person: what went wrong and what to do about it. The CLI prints it, the web
 * app shows it; neither shows a stack trace. Unknown errors keep their own first line.
 */
export function userMessage (err: unknown): string {
  if (err instanceof LinkError) return `That is not a working MegaNet link (${firstLine(err.message)}): paste the whole meganet://… link, including the part after "#".`
  if (err instanceof DecryptError) return 'The key in this link does not open the file (wrong key or the data was altered): ask for the link again (it may have been cut short or changed).'
  if (err instanceof ManifestError || err instanceof BlockMismatchError) return 'The file behind this link is damaged or was not shared completely: ask for it to be shared again.'
  if (err instanceof MessageError) return `The message could not be delivered (${firstLine(err.message)}): keep messages short and send files as links.`
  if (isPeerError(err)) {
    switch (err.code) {
      case 'not-a-peer-id': return `${firstLine(err.message)}: paste the whole id (it starts with 12D3Koo) as the other person sees it.`
      case 'peer-offline': return 'That peer is not online right now: ask them to open MegaNet, then send again.'
      case 'anchors-unreachable': return `No anchor answered (${firstLine(err.message)}). Check the anchor address and that the network (devnet or fleet) is running, then join again.`
      case 'no-relay': return `No anchor you joined through relays (${firstLine(err.message)}): join through anchors that run the relay role (anchor option --roles).`
      case 'bad-anchor-address': return `That anchor address is not usable (${firstLine(err.message)}): it looks like /ip4/203.0.113.7/udp/4003/webrtc-direct/certhash/uEi…/p2p/12D3Koo….`
      case 'no-anchors': return 'No anchor to join through: give at least one anchor address ending in /p2p/<PeerId>.'
      case 'bootstrap': return `The bootstrap list could not be used (${firstLine(err.message)}): check its URL and the anchor PeerIds you trust.`
      case 'storage': return `The anchors could not store or find the file (${firstLine(err.message)}): try again in a moment.`
    }
  }
  if (err instanceof Error) return firstLine(err.message) || err.name
  return firstLine(String(err))
}
