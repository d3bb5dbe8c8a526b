/**
 * @packageDocumentation
 * A fleet's coordination plane as other programs (the operator, tools) and the anchor's own
 * coordinator read it: the live member list and commands to anchors, over a NATS connection
 * the caller owns, and the signed records that travel on it (one sign and one verify function
 * per kind, in `trust/`). Small on purpose: no libp2p, nothing of the anchor.
 */
export { FleetClient, FleetCommandError, DEFAULT_COMMAND_TIMEOUT_MS } from './fleet-client.js'
export type { FleetReader, FleetController, FleetClientOptions, CommandResult } from './fleet-client.js'
export { MemberView } from './member-view.js'
export type { MemberChange, MemberEntry } from './member-view.js'
export * from './trust/index.js'
export { createBucket, ensureFleetBuckets } from './buckets.js'
export { base32, natsUserOfPeerId, natsAccountOfPeerId, peerIdOfNatsUser, peerIdOfNatsServer, natsUserSeed, natsKeyAuthenticator, AUTH_CALLOUT_SUBJECT, anchorInboxPrefix, OPERATOR_INBOX_PREFIX, anchorPermissions, operatorPermissions } from './nats-identity.js'
export type { NatsPermissions } from './nats-identity.js'
