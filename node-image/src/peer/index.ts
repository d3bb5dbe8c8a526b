/**
 * @packageDocumentation
 * The MegaNet peer library: join through anchors, be reachable by PeerId, message and ping
 * other peers.
 */
export { MeganetPeer, PeerError, isPeerError } from './peer.js'
export type { PeerErrorCode } from './peer.js'
export { userMessage } from './user-message.js'
export type { PeerOptions, PingResult, PeerPath, FoundPeer, FoundVia, PeerBlocks } from './peer.js'
export type { GoDirectOptions } from './go-direct.js'
export type { ConnectionPath } from './connection-path.js'
export type { AnchorMeshOptions as ReconnectOptions } from '../net/anchor-mesh.js'
export { MessageError, MAX_MESSAGE_BYTES } from './messaging.js'
export type { ReceivedMessage } from './messaging.js'
export { verifyBootstrapList, BootstrapListError } from '../bootstrap/signed-list.js'
export { storageBootstrapCache } from './known-fleets.js'
export type { BootstrapCache } from './known-fleets.js'
export { fileBootstrapCache } from './file-bootstrap-cache.js'
// Node only, opt-in: `meganet peer put/get` runs it around a transfer (README, "The peer library").
export { startTransferGc, TransferGcError } from '../runtime/transfer-gc.js'
export type { TransferGc, TransferGcRole } from '../runtime/transfer-gc.js'
