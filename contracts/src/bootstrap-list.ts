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
 * needs nothing else: check `signer` is one of the pinned PeerIds (never "any signer": an
 * empty trust set verifies nothing), check the signature with the key inside it, then parse
 * `payload` and check `issuedAt` (not in the future), `expiresAt` (not past) and the lifetime
 * (at most {@link MAX_BOOTSTRAP_LIST_LIFETIME_MS}). The list names only anchors of the signer's
 * fleet.
 */
export const BOOTSTRAP_SIGNATURE_DOMAIN = 'meganet-bootstrap-list:v1:'

export const BOOTSTRAP_LIST_VERSION = 1

/**
 * The longest validity (`expiresAt - issuedAt`) a verifier accepts: a leaked or outdated list
 * stops working within a week. Anchors sign theirs for a day.
 */
export const MAX_BOOTSTRAP_LIST_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000
/** How far ahead of the verifier's clock `issuedAt` may be. */
export const BOOTSTRAP_CLOCK_SKEW_MS = 5 * 60 * 1000

export interface BootstrapEntry {
  /** The anchor's PeerId (base58btc). */
  readonly peerId: string
  /** Dialable multiaddrs, each ending in `/p2p/<peerId>`. */
  readonly multiaddrs: readonly string[]
}

/** Other operators' fleets an anchor peers with, at most this many in one list. */
export const MAX_PEERED_FLEETS = 8
/** PeerIds pinned for one peered fleet: the anchors whose signature on its list is trusted. */
export const MAX_PEERING_PINS = 16
/** The longest bootstrap list URL a fleet peers with (anchors report it in every membership record). */
export const MAX_PEERING_URL_LENGTH = 2048

/**
 * A fleet of another operator that the signing anchor peers with: the PeerIds its operator
 * pinned for it, and that fleet's own signed list. The signer vouches only for the pins; the
 * list inside is signed by one of them, and a verifier checks it against them. Peering is not
 * transitive: a verifier ignores the `peered` field of a list inside.
 */
export interface PeeredFleet {
  readonly pins: readonly string[]
  readonly list: SignedBootstrapList
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
  /** Fleets of other operators this anchor peers with (absent when none). */
  readonly peered?: readonly PeeredFleet[]
}

export interface SignedBootstrapList {
  readonly signer: string
  readonly payload: string
  readonly signature: string
}
