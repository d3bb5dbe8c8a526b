/**
 * @packageDocumentation
 * Signed records and how to check them: one sign and one verify function per kind (membership
 * records, peer directory entries, operator commands, storage grants), over one envelope format
 * defined in `@meganet/contracts`. Verifiers never throw on hostile input: they say why.
 */
export { signEnvelope, openEnvelope, openEnvelopeBytes, keyId } from './signed-envelope.js'
export type { Verified } from './signed-envelope.js'
export { signMemberRecord, verifyMemberRecord } from './member-record.js'
export type { MemberRecordCheck } from './member-record.js'
export { signDirectoryEntry, verifyDirectoryEntry } from './directory-entry.js'
export { signCommand, verifyCommand, ReplayGuard } from './anchor-command.js'
export type { CommandCheck } from './anchor-command.js'
export { signStorageGrant, verifyStorageGrant } from './storage-grant.js'
export { loadSigningKey, SigningKeyError } from './signing-key.js'
export { ed25519KeyOfPeerId, peerIdOfEd25519Key, verifyWithPeerId, signingKeyFromSeed, signingKeyFromProtobuf } from './ed25519.js'
export type { SigningKey } from './ed25519.js'
