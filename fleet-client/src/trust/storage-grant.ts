import { MAX_CLOCK_SKEW_MS, MAX_STORAGE_GRANT_LIFETIME_MS, storageGrantSchema } from '@meganet/contracts'
import { openEnvelope, refused, signEnvelope } from './signed-envelope.js'
import type { Verified } from './signed-envelope.js'
import type { SignedEnvelope, StorageGrant } from '@meganet/contracts'
import type { SigningKey } from './ed25519.js'

/** Signs a storage grant with a grant key (one the anchors are configured to trust). */
export async function signStorageGrant (key: SigningKey, grant: StorageGrant): Promise<SignedEnvelope> {
  return await signEnvelope(key, 'storageGrant', grant)
}

/** Verifies a grant presented by `holder`: signed by a trusted grant key, for that holder, current. */
export function verifyStorageGrant (envelope: SignedEnvelope, check: { readonly holder: string, readonly trusted: ReadonlySet<string>, readonly now?: number }): Verified<StorageGrant> {
  if (!check.trusted.has(envelope.signer)) return refused('untrusted', `grant signed by ${envelope.signer}, which this anchor does not trust`)
  const opened = openEnvelope(envelope, 'storageGrant', storageGrantSchema)
  if (!opened.ok) return opened
  const grant = opened.value
  const now = check.now ?? Date.now()
  if (grant.holder !== check.holder) return refused('mismatch', `grant is for ${grant.holder}`)
  if (grant.issuedAt > now + MAX_CLOCK_SKEW_MS) return refused('future', 'grant issued in the future')
  if (grant.expiresAt < now) return refused('stale', 'grant expired')
  if (grant.expiresAt - grant.issuedAt > MAX_STORAGE_GRANT_LIFETIME_MS) return refused('malformed', 'grant runs longer than a grant may')
  return opened
}
