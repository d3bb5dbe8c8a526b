/**
 * @packageDocumentation
 * Internals that tests and benchmarks drive from outside the package: a local devnet of anchor
 * processes, the bare libp2p node a peer runs, and replica counting. Not a stable API.
 */
export { Devnet, browserAddresses } from './devnet/devnet.js'
export type { DevnetOptions } from './devnet/devnet.js'
export { AnchorChild, CLI_PATH } from './devnet/anchor-child.js'
export { Federation } from './devnet/federation.js'
export type { FederationOptions, OperatorFleet } from './devnet/federation.js'
export { findNatsServer } from './devnet/nats-child.js'
export { createPeerLibp2p } from './peer/peer-libp2p.js'
export type { PeerLibp2p, PeerLibp2pInit } from './peer/peer-libp2p.js'
export { AnchorMesh } from './net/anchor-mesh.js'
export { ConnectionLiveness, PEER_LIVENESS } from './net/connection-liveness.js'
export { libp2pLoggerOption } from './net/libp2p-logger.js'
export { createLogger } from './logging/logger.js'
export { replicaCounts } from './blocks/replica-counts.js'
export { cidOf } from './blocks/cid.js'
export { storeRequest, putBlock, getBlock, isStoreError, StoreError } from './blocks/store-client.js'
export { startTransferGc } from './runtime/transfer-gc.js'
export type { TransferGc } from './runtime/transfer-gc.js'
