/**
 * @packageDocumentation
 * Contracts shared by anchors, peers and the operator. Every wire id, schema and name that
 * crosses a process boundary is defined here once.
 */
export { PROTOCOLS, RELAY_PROTOCOLS } from './protocols.js'
export type { ProtocolName, ProtocolId } from './protocols.js'
export { ANCHOR_ROLES, isAnchorRole } from './roles.js'
export type { AnchorRole } from './roles.js'
export {
  BOOTSTRAP_SIGNATURE_DOMAIN, BOOTSTRAP_LIST_VERSION, MAX_BOOTSTRAP_LIST_LIFETIME_MS, BOOTSTRAP_CLOCK_SKEW_MS, MAX_PEERED_FLEETS, MAX_PEERING_PINS,
  MAX_PEERING_URL_LENGTH
} from './bootstrap-list.js'
export type { BootstrapEntry, BootstrapList, PeeredFleet, SignedBootstrapList } from './bootstrap-list.js'
export {
  SCOPE_NAME_PATTERN, scopeName, MAX_COORDINATION_PAYLOAD_BYTES, PEER_DIRECTORY_BUCKET, membersBucket, commandSubject,
  MEMBER_PHASES, loadReportSchema, memberRecordSchema, directoryEntrySchema, ANCHOR_COMMANDS, commandRequestSchema,
  commandReplySchema, decodePayload, encodePayload, MAX_CLOCK_SKEW_MS, MAX_COMMAND_LIFETIME_MS, DEFAULT_COMMAND_LIFETIME_MS,
  MAX_DIRECTORY_ENTRY_LIFETIME_MS, directoryKey, peerIdText, SIGNATURE_DOMAINS, signedEnvelopeSchema, REJECTION_REASONS,
  DEFAULT_HEARTBEAT_MS, DEFAULT_MEMBER_TTL_MS, DEFAULT_KV_REPLICAS, DEFAULT_RESERVATION_TTL_MS, DEFAULT_BUCKET_SETTINGS, fleetBuckets,
  ED25519_PEER_ID_PATTERN, MAX_PEERING_ERROR_LENGTH, peeringReportSchema
} from './coordination.js'
export type {
  FleetScope, MemberPhase, LoadReport, MemberRecord, DirectoryEntry, AnchorCommand, CommandRequest, CommandReply, DecodeResult,
  SignatureDomain, SignedEnvelope, RejectionReason, BucketSettings, BucketOptions, BucketSpec, PeeringReport
} from './coordination.js'
export {
  PEER_RECORD_NAMESPACE, MAX_PEER_RECORD_BYTES, MAX_PEER_RECORD_ADDRESSES, MAX_PEER_RECORD_AGE_MS, PEER_RECORD_CLOCK_SKEW_MS,
  PEER_RECORD_QUORUM, PEER_RECORD_REJECTIONS, peerRecordKeyText
} from './peer-records.js'
export type { PeerRecordRejection } from './peer-records.js'
export { MAX_PEER_MESSAGE_BYTES, lookupRequestSchema, LOOKUP_SOURCES, lookupReplySchema, moveNoticeSchema } from './peer-messages.js'
export type { LookupRequest, LookupReply, MoveNotice } from './peer-messages.js'
export {
  DEFAULT_CHUNK_BYTES, MAX_BLOCK_BYTES, MAX_STORE_HEADER_BYTES, MAX_HAS_BATCH, MAX_LEASES_PER_BLOCK, CID_CODECS, leaseSchema,
  storeRequestSchema, STORE_ERROR_CODES, storeReplySchema, storageGrantSchema, MAX_STORAGE_GRANT_LIFETIME_MS, manifestSchema,
  fileMetaSchema, LINK_SCHEME
} from './storage.js'
export type { Lease, StoreRequest, StoreOp, StoreErrorCode, StoreReply, StorageGrant, Manifest, FileMeta } from './storage.js'
export {
  ANCHOR_FLEET, EXPOSURE_TYPES, NODE_ADDRESS_TYPES, DEFAULT_ANCHOR_RESOURCES, DEFAULT_TOPOLOGY_SPREAD, tolerationSchema, topologySpreadSchema, resourcesSchema, autoscalingSchema, anchorFleetSpecSchema, CONDITION_TYPES, conditionSchema,
  anchorStatusSchema, anchorFleetStatusSchema, peeringSchema, peeringListSchema, peeredFleetStatusSchema, FORCE_SCALE_DOWN_ANNOTATION, FLEET_FINALIZER, NATS_IDENTITY_ANNOTATION
} from './anchor-fleet.js'
export type {
  AnchorFleet, AnchorFleetSpec, AnchorFleetSpecInput, AnchorFleetStatus, Condition, ConditionType, FleetPeering, PeeredFleetStatus
} from './anchor-fleet.js'
export { celRules, embeddedObject, listMap, structuralSchema } from './openapi.js'
export type { CelRule, StructuralSchema } from './openapi.js'
export { ANCHOR_HEAP, anchorNodeOptions } from './anchor-runtime.js'
export { TRANSPORT_NAMES, transportOf, isBrowserDialable } from './transport-names.js'
export type { TransportName } from './transport-names.js'
