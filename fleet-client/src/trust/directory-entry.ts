import { MAX_CLOCK_SKEW_MS, MAX_DIRECTORY_ENTRY_LIFETIME_MS, directoryEntrySchema, directoryKey } from '@meganet/contracts'
import { openEnvelopeBytes, refused, signEnvelope } from './signed-envelope.js'
import type { Verified } from './signed-envelope.js'
import type { DirectoryEntry, SignedEnvelope } from '@meganet/contracts'
import type { SigningKey } from './ed25519.js'

/** Signs a peer directory entry with the key of the anchor holding the peer's reservation. */
export async function signDirectoryEntry (key: SigningKey, entry: DirectoryEntry): Promise<SignedEnvelope> {
  return await signEnvelope(key, 'directory', entry)
}

/**
 * Verifies a directory entry: signed by the anchor it names, stored under that anchor's key for
 * the peer, current, and listing only circuit addresses through that anchor (so even a member
 * anchor can only say "reach the peer through me", never send a seeker elsewhere).
 */
export function verifyDirectoryEntry (bytes: Uint8Array, check: { readonly key: string, readonly now?: number }): Verified<DirectoryEntry> {
  const opened = openEnvelopeBytes(bytes, 'directory', directoryEntrySchema)
  if (!opened.ok) return opened
  const entry = opened.value
  const now = check.now ?? Date.now()
  if (opened.signer !== entry.anchor) return refused('mismatch', `entry naming anchor ${entry.anchor} signed by ${opened.signer}`)
  if (check.key !== directoryKey(entry.peerId, entry.anchor)) return refused('mismatch', `entry for ${entry.peerId} via ${entry.anchor} stored under ${check.key}`)
  if (entry.updatedAt > now + MAX_CLOCK_SKEW_MS) return refused('future', `entry written ${entry.updatedAt - now} ms in the future`)
  if (entry.expiresAt < now) return refused('stale', 'entry expired')
  if (entry.expiresAt - entry.updatedAt > MAX_DIRECTORY_ENTRY_LIFETIME_MS) return refused('malformed', 'entry promises longer than a directory entry may')
  const through = `/p2p/${entry.anchor}/p2p-circuit/p2p/${entry.peerId}`
  const stray = entry.multiaddrs.find(address => !address.endsWith(through))
  if (stray != null) return refused('mismatch', `address ${stray} does not lead through the signing anchor`)
  return opened
}
