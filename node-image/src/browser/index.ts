/**
 * @packageDocumentation
 * The MegaNet peer library for pages (`@meganet/node/browser`): the same `MeganetPeer` and
 * files API as in Node, with no Node-only import. Bundlers that honour package.json's "browser"
 * field pick the browser transports (WebRTC-direct and WSS to anchors, circuit relay, and
 * WebRTC between pages signalled through the relay). Files are `Blob`s: `putBlob` encrypts one
 * with WebCrypto and returns its `meganet://` link; `getBlob` fetches one back.
 */
export { MeganetPeer, PeerError } from '../peer/peer.js'
export type { PeerOptions, PingResult, PeerPath, FoundPeer, FoundVia, PeerBlocks } from '../peer/peer.js'
export type { GoDirectOptions } from '../peer/go-direct.js'
export type { ConnectionPath } from '../peer/connection-path.js'
export type { AnchorMeshOptions as ReconnectOptions } from '../net/anchor-mesh.js'
export { MessageError, MAX_MESSAGE_BYTES } from '../peer/messaging.js'
export type { ReceivedMessage } from '../peer/messaging.js'
export { verifyBootstrapList, BootstrapListError } from '../bootstrap/signed-list.js'
export { putBlob, PutFileError } from '../files/put-blob.js'
export type { PutFileOptions, PutFileResult } from '../files/put-blob.js'
export { fetchFile, getBlob } from '../files/fetch-file.js'
export type { GetFileOptions, GetFileResult, GetBlobResult } from '../files/fetch-file.js'
export { formatLink, parseLink, LinkError } from '../files/link.js'
export type { FileLink } from '../files/link.js'
export { DecryptError } from '../files/chunk-crypto.js'
export { ManifestError } from '../files/manifest.js'
export { BlockMismatchError } from '../files/block-transport.js'
export type { BlockTransport } from '../files/block-transport.js'
export type { TransferProgress } from '../files/progress.js'
export { DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES, DEFAULT_CONCURRENCY } from '../files/constants.js'
export { formatBytes } from '../config/units.js'
export { userMessage } from '../peer/user-message.js'
export { isPeerError } from '../peer/peer.js'
export type { PeerErrorCode } from '../peer/peer.js'
export { generateIdentity, identityFromBytes, identityToBytes } from '../peer/identity-bytes.js'
export { storageBootstrapCache } from '../peer/known-fleets.js'
export type { BootstrapCache } from '../peer/known-fleets.js'
