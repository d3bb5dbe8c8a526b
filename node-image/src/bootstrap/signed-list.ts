import { BOOTSTRAP_LIST_VERSION, BOOTSTRAP_SIGNATURE_DOMAIN } from '@meganet/contracts'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { fromString as bytesFromString, toString as bytesToString } from 'uint8arrays'
import { z } from 'zod'
import type { BootstrapEntry, BootstrapList, SignedBootstrapList } from '@meganet/contracts'
import type { PrivateKey } from '@libp2p/interface'

export class BootstrapListError extends Error {
  override readonly name = 'BootstrapListError'
}

const signedSchema = z.strictObject({ signer: z.string(), payload: z.string(), signature: z.string() })
const listSchema = z.strictObject({
  version: z.literal(BOOTSTRAP_LIST_VERSION),
  issuer: z.string(),
  issuedAt: z.number().int(),
  expiresAt: z.number().int(),
  anchors: z.array(z.strictObject({ peerId: z.string(), multiaddrs: z.array(z.string()) }))
})

function signedBytes (payload: string): Uint8Array {
  return bytesFromString(BOOTSTRAP_SIGNATURE_DOMAIN + payload)
}

/** Signs a bootstrap list with the anchor's key. */
export async function signBootstrapList (
  key: PrivateKey, issuer: string, anchors: readonly BootstrapEntry[], ttlMs: number, now = Date.now()
): Promise<SignedBootstrapList> {
  const list: BootstrapList = { version: BOOTSTRAP_LIST_VERSION, issuer, issuedAt: now, expiresAt: now + ttlMs, anchors }
  const payload = JSON.stringify(list)
  const signature = await key.sign(signedBytes(payload))
  return { signer: issuer, payload, signature: bytesToString(signature, 'base64url') }
}

/**
 * Verifies a signed bootstrap list against the anchor PeerIds the caller trusts and returns
 * the list. Throws {@link BootstrapListError} saying what failed: unknown signer, bad
 * signature, malformed payload, expiry or an entry whose addresses do not match its PeerId.
 */
export async function verifyBootstrapList (
  signed: unknown, trustedSigners: readonly string[], now = Date.now()
): Promise<BootstrapList> {
  const envelope = signedSchema.safeParse(signed)
  if (!envelope.success) throw new BootstrapListError(`not a signed bootstrap list: ${envelope.error.issues[0]?.message ?? 'bad shape'}`)
  const { signer, payload, signature } = envelope.data
  if (trustedSigners.length > 0 && !trustedSigners.includes(signer)) {
    throw new BootstrapListError(`signer ${signer} is not a trusted anchor`)
  }
  let publicKey
  try {
    publicKey = peerIdFromString(signer).publicKey
  } catch (err) {
    throw new BootstrapListError(`signer ${signer} is not a PeerId`, { cause: err })
  }
  if (publicKey == null) throw new BootstrapListError(`signer ${signer} does not embed a public key (not Ed25519)`)
  const valid = await publicKey.verify(signedBytes(payload), bytesFromString(signature, 'base64url'))
  if (!valid) throw new BootstrapListError('signature does not match the payload: the list was altered or not signed by its signer')

  let parsed: unknown
  try {
    parsed = JSON.parse(payload)
  } catch (err) {
    throw new BootstrapListError('payload is not JSON', { cause: err })
  }
  const list = listSchema.safeParse(parsed)
  if (!list.success) throw new BootstrapListError(`payload is not a bootstrap list: ${list.error.issues[0]?.message ?? 'bad shape'}`)
  if (list.data.issuer !== signer) throw new BootstrapListError(`payload issuer ${list.data.issuer} differs from signer ${signer}`)
  if (list.data.expiresAt < now) throw new BootstrapListError(`list expired at ${new Date(list.data.expiresAt).toISOString()}`)
  for (const entry of list.data.anchors) {
    for (const address of entry.multiaddrs) {
      if (multiaddr(address).getComponents().findLast(c => c.name === 'p2p')?.value !== entry.peerId) {
        throw new BootstrapListError(`address ${address} does not end in /p2p/${entry.peerId}`)
      }
    }
  }
  return list.data
}
