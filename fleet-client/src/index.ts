/**
 * @packageDocumentation
 * A fleet's coordination plane as other programs (the operator, tools) and the anchor's own
 * coordinator read it: the live member list and commands to anchors, over a NATS connection
 * the caller owns. Small on purpose: no libp2p, nothing of the anchor.
 */
export { FleetClient, FleetCommandError, DEFAULT_COMMAND_TIMEOUT_MS } from './fleet-client.js'
export type { FleetReader, FleetController } from './fleet-client.js'
export { MemberView } from './member-view.js'
export type { MemberChange, MemberEntry } from './member-view.js'
