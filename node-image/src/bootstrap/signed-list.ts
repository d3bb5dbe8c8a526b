import { BOOTSTRAP_CLOCK_SKEW_MS, BOOTSTRAP_LIST_VERSION, BOOTSTRAP_SIGNATURE_DOMAIN, MAX_BOOTSTRAP_LIST_LIFETIME_MS, MAX_PEERED_FLEETS } from '@meganet/contracts'
import { peerIdFromString } from '@libp2p/peer-id'
import { peerIdOf } from '../net/peer-id-of.js'
import { fromString as bytesFromString, toString as bytesToString } from 'uint8arrays'
import { z } from 'zod'
import type { BootstrapEntry, BootstrapList, PeeredFleet, SignedBootstrapList } from '@meganet/contracts'
import type { PrivateKey } from '@libp2p/interface'

export class BootstrapListError extends Error {
  override readonly name = 'BootstrapListError'
}

/** Largest signed list a verifier reads (a few hundred anchors with a handful of addresses each). */
export const MAX_BOOTSTRAP_LIST_BYTES = 256 * 1024

const signedSchema = z.strictObject({ signer: z.string().max(128), payload: z.string().max(MAX_BOOTSTRAP_LIST_BYTES), signature: z.string().max(256) })
const listSchema = z.strictObject({
  version: z.literal(BOOTSTRAP_LIST_VERSION),
  issuer: z.string().max(128),
  issuedAt: z.number().int(),
  expiresAt: z.number().int(),
  anchors: z.array(z.strictObject({ peerId: z.string().max(128), multiaddrs: z.array(z.string().max(600)).max(64) })).max(1000),
  peered: z.array(z.strictObject({ pins: z.array(z.string().max(128)).min(1).max(16), list: signedSchema })).max(MAX_PEERED_FLEETS).optional()
})

function signedBytes (payload: string): Uint8Array {
  return bytesFromString(BOOTSTRAP_SIGNATURE_DOMAIN + payload)
}

/** Signs a bootstrap list with the anchor's key. */
export async function signBootstrapList (
  key: PrivateKey, issuer: string, anchors: readonly BootstrapEntry[], ttlMs: number, now = Date.now(), peered: readonly PeeredFleet[] = []
): Promise<SignedBootstrapList> {
  const list: BootstrapList = { version: BOOTSTRAP_LIST_VERSION, issuer, issuedAt: now, expiresAt: now + ttlMs, anchors, ...(peered.length > 0 ? { peered } : {}) }
  const payload = JSON.stringify(list)
  const signature = await key.sign(signedBytes(payload))
  return { signer: issuer, payload, signature: bytesToString(signature, 'base64url') }
}

/**
 * Verifies a signed bootstrap list against the anchor PeerIds the caller trusts and returns
 * the list. Throws {@link BootstrapListError} saying what failed: no trusted anchors given,
 * unknown signer, bad signature, malformed payload, issued in the future, expired, a lifetime
 * beyond {@link MAX_BOOTSTRAP_LIST_LIFETIME_MS}, or an entry whose addresses do not match its PeerId.
 */
export async function verifyBootstrapList (
  signed: unknown, trustedSigners: readonly string[], now = Date.now()
): Promise<BootstrapList> {
  const envelope = signedSchema.safeParse(signed)
  if (!envelope.success) throw new BootstrapListError(`not a signed bootstrap list: ${envelope.error.issues[0]?.message ?? 'bad shape'}`)
  const { signer, payload, signature } = envelope.data
  if (trustedSigners.length === 0) throw new BootstrapListError('no trusted anchors to verify the list against: pin at least one anchor PeerId')
  if (!trustedSigners.includes(signer)) {
    throw new BootstrapListError(`signer ${signer} is not a trusted anchor`)
  }
  let publicKey
  try {
    publicKey = peerIdFromString(signer).publicKey
  } catch (err) {
    throw new BootstrapListError(`signer ${signer} is not a PeerId`, { cause: err })
  }
  if (publicKey == null) throw new BootstrapListError(`signer ${signer} does not embed a public key (not Ed25519)`)
  let valid = false
  try {
    valid = await publicKey.verify(signedBytes(payload), bytesFromString(signature, 'base64url'))
  } catch {
    valid = false
  }
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
  const { issuedAt, expiresAt } = list.data
  if (issuedAt > now + BOOTSTRAP_CLOCK_SKEW_MS) throw new BootstrapListError(`list issued in the future (${new Date(issuedAt).toISOString()}): the signer's clock or the list is wrong`)
  if (expiresAt < now) throw new BootstrapListError(`list expired at ${new Date(expiresAt).toISOString()}`)
  if (expiresAt - issuedAt > MAX_BOOTSTRAP_LIST_LIFETIME_MS) {
    throw new BootstrapListError(`list lifetime of ${Math.round((expiresAt - issuedAt) / 3_600_000)} h exceeds the maximum of ${MAX_BOOTSTRAP_LIST_LIFETIME_MS / 3_600_000} h`)
  }
  for (const entry of list.data.anchors) {
    for (const address of entry.multiaddrs) {
      let last: string | undefined
      try {
        last = peerIdOf(address)
      } catch (err) {
        throw new BootstrapListError(`address ${address.slice(0, 100)} is not a multiaddr`, { cause: err })
      }
      if (last !== entry.peerId) {
        throw new BootstrapListError(`address ${address} does not end in /p2p/${entry.peerId}`)
      }
    }
  }
  return list.data
}

/** A peered fleet's list, verified against the pins its vouching anchor gave. */
export interface VerifiedPeeredFleet {
  readonly pins: readonly string[]
  readonly list: BootstrapList
}

/**
 * The peered fleets a verified list names, each list inside verified against its pins; one
 * that fails (expired, altered) is left out and reported through `onInvalid`. Their own
 * `peered` fields are not followed: trust goes one hop, from a pinned anchor to the fleets it names.
 */
export async function verifyPeeredFleets (list: BootstrapList, now = Date.now(), onInvalid?: (err: BootstrapListError) => void): Promise<VerifiedPeeredFleet[]> {
  const verified: VerifiedPeeredFleet[] = []
  for (const peered of list.peered ?? []) {
    try {
      const inner = await verifyBootstrapList(peered.list, peered.pins, now)
      const { peered: _notFollowed, ...rest } = inner
      verified.push({ pins: peered.pins, list: rest })
    } catch (err) {
      if (err instanceof BootstrapListError) onInvalid?.(err)
      else throw err
    }
  }
  return verified
}

/**
 * Fetches a signed list from an anchor's `/bootstrap` and verifies it. Reads at most
 * {@link MAX_BOOTSTRAP_LIST_BYTES}: a hostile or broken server cannot make the caller buffer more.
 */
export async function fetchBootstrapList (url: string, trustedSigners: readonly string[], timeoutMs = 10_000): Promise<BootstrapList> {
  return (await fetchSignedBootstrapList(url, trustedSigners, timeoutMs)).list
}

/** {@link fetchBootstrapList}, also returning the list as signed (to keep, or to pass on). */
export async function fetchSignedBootstrapList (url: string, trustedSigners: readonly string[], timeoutMs = 10_000): Promise<{ signed: SignedBootstrapList, list: BootstrapList }> {
  if (trustedSigners.length === 0) throw new BootstrapListError('no trusted anchors to verify the list against: pin at least one anchor PeerId')
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  if (!response.ok) throw new BootstrapListError(`bootstrap list ${url} answered HTTP ${response.status}`)
  // Read chunk by chunk (browsers too), cancelling the body past the limit: nothing more is buffered.
  const reader = (response.body as { getReader: () => { read: () => Promise<{ done: boolean, value?: Uint8Array }>, cancel: () => Promise<void> } } | null)?.getReader()
  const body = new Uint8Array(MAX_BOOTSTRAP_LIST_BYTES)
  let size = 0
  for (let next = await reader?.read(); next != null && !next.done; next = await reader?.read()) {
    const chunk = next.value ?? new Uint8Array()
    if (size + chunk.byteLength > MAX_BOOTSTRAP_LIST_BYTES) {
      await reader?.cancel()
      throw new BootstrapListError(`bootstrap list ${url} is larger than ${MAX_BOOTSTRAP_LIST_BYTES} bytes`)
    }
    body.set(chunk, size)
    size += chunk.byteLength
  }
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(0, size)))
  } catch (err) {
    throw new BootstrapListError(`bootstrap list ${url} is not JSON`, { cause: err })
  }
  const list = await verifyBootstrapList(json, trustedSigners)
  return { signed: json as SignedBootstrapList, list }
}
