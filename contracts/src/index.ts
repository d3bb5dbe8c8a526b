/**
 * @packageDocumentation
 * Contracts shared by anchors, peers and the operator. Every wire id, schema and name that
 * crosses a process boundary is defined here once.
 */
export { PROTOCOLS } from './protocols.js'
export type { ProtocolName, ProtocolId } from './protocols.js'
export { ANCHOR_ROLES, isAnchorRole } from './roles.js'
export type { AnchorRole } from './roles.js'
export { BOOTSTRAP_SIGNATURE_DOMAIN, BOOTSTRAP_LIST_VERSION } from './bootstrap-list.js'
export type { BootstrapEntry, BootstrapList, SignedBootstrapList } from './bootstrap-list.js'
