/**
 * The signed bootstrap list an anchor serves at `GET /bootstrap`.
 *
 * Wire format (JSON):
 *
 * ```json
 * { "signer": "<PeerId of the anchor>", "payload": "<JSON text of BootstrapList>", "signature": "<base64url>" }
 * ```
 *
 * The signature is Ed25519 over the UTF-8 bytes of `BOOTSTRAP_SIGNATURE_DOMAIN + payload`.
 * An Ed25519 PeerId embeds its public key, so a verifier that pins the anchor's PeerId
 * needs nothing else: check `signer` equals the pinned PeerId, check the signature with the
 * key inside it, then parse `payload` and check `expiresAt`.
 */
export const BOOTSTRAP_SIGNATURE_DOMAIN = 'meganet-bootstrap-list:v1:'

export const BOOTSTRAP_LIST_VERSION = 1

export interface BootstrapEntry {
  /** The anchor's PeerId (base58btc). */
  readonly peerId: string
  /** Dialable multiaddrs, each ending in `/p2p/<peerId>`. */
  readonly multiaddrs: readonly string[]
}

export interface BootstrapList {
  readonly version: typeof BOOTSTRAP_LIST_VERSION
  /** PeerId of the anchor that signed the list. */
  readonly issuer: string
  /** Milliseconds since the epoch. */
  readonly issuedAt: number
  /** Milliseconds since the epoch; a verifier refuses the list after this. */
  readonly expiresAt: number
  readonly anchors: readonly BootstrapEntry[]
}

export interface SignedBootstrapList {
  readonly signer: string
  readonly payload: string
  readonly signature: string
}
