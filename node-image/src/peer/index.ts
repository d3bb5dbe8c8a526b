/**
 * @packageDocumentation
 * The MegaNet peer library: join through anchors, be reachable by PeerId, message and ping
 * other peers.
 */
export { MeganetPeer, PeerError } from './peer.js'
export type { PeerOptions, PingResult, FoundPeer, FoundVia, PeerBlocks } from './peer.js'
export { MessageError, MAX_MESSAGE_BYTES } from './messaging.js'
export type { ReceivedMessage } from './messaging.js'
export { verifyBootstrapList, BootstrapListError } from '../bootstrap/signed-list.js'
