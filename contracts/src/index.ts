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
export {
  SCOPE_NAME_PATTERN, scopeName, MAX_COORDINATION_PAYLOAD_BYTES, PEER_DIRECTORY_BUCKET, membersBucket, commandSubject,
  MEMBER_PHASES, loadReportSchema, memberRecordSchema, directoryEntrySchema, ANCHOR_COMMANDS, commandRequestSchema,
  commandReplySchema, decodePayload, encodePayload
} from './coordination.js'
export type {
  FleetScope, MemberPhase, LoadReport, MemberRecord, DirectoryEntry, AnchorCommand, CommandRequest, CommandReply, DecodeResult
} from './coordination.js'
export { MAX_PEER_MESSAGE_BYTES, lookupRequestSchema, LOOKUP_SOURCES, lookupReplySchema, moveNoticeSchema } from './peer-messages.js'
export type { LookupRequest, LookupReply, MoveNotice } from './peer-messages.js'
export {
  DEFAULT_CHUNK_BYTES, MAX_BLOCK_BYTES, MAX_STORE_HEADER_BYTES, MAX_HAS_BATCH, CID_CODECS, storeRequestSchema,
  STORE_ERROR_CODES, storeReplySchema, manifestSchema, fileMetaSchema, LINK_SCHEME
} from './storage.js'
export type { StoreRequest, StoreOp, StoreErrorCode, StoreReply, Manifest, FileMeta } from './storage.js'
export {
  ANCHOR_FLEET, EXPOSURE_TYPES, NODE_ADDRESS_TYPES, DEFAULT_ANCHOR_RESOURCES, DEFAULT_TOPOLOGY_SPREAD, tolerationSchema, topologySpreadSchema, resourcesSchema, autoscalingSchema, anchorFleetSpecSchema, CONDITION_TYPES, conditionSchema,
  anchorStatusSchema, anchorFleetStatusSchema, FORCE_SCALE_DOWN_ANNOTATION, FLEET_FINALIZER
} from './anchor-fleet.js'
export type { AnchorFleet, AnchorFleetSpec, AnchorFleetSpecInput, AnchorFleetStatus, Condition, ConditionType } from './anchor-fleet.js'
export { celRules, embeddedObject, structuralSchema } from './openapi.js'
export type { CelRule, StructuralSchema } from './openapi.js'
export { ANCHOR_HEAP, anchorNodeOptions } from './anchor-runtime.js'
