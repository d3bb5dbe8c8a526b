import { ed25519KeyOfPeerId } from './trust/ed25519.js'
import { membersBucket, PEER_DIRECTORY_BUCKET } from '@meganet/contracts'
import type { FleetScope } from '@meganet/contracts'

/**
 * An anchor's NATS identity is its libp2p key: NATS nkeys are Ed25519 too, so the anchor signs
 * the server's nonce with the key its PeerId names, and NATS permissions can be written per
 * PeerId. No NATS secret to hand out per anchor, and none that outlives the identity.
 */

const PREFIX_SEED = 18 << 3
const PREFIX_USER = 20 << 3
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

function crc16 (bytes: Uint8Array): number {
  let crc = 0
  for (const byte of bytes) {
    crc ^= byte << 8
    for (let i = 0; i < 8; i++) crc = (crc & 0x8000) !== 0 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

function base32 (bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31]
  return out
}

function withChecksum (bytes: Uint8Array): string {
  const crc = crc16(bytes)
  return base32(Uint8Array.from([...bytes, crc & 0xff, crc >> 8]))
}

/** The NATS user nkey (`U…`) of an Ed25519 PeerId: what a server config lists for that anchor. */
export function natsUserOfPeerId (peerId: string): string {
  const raw = ed25519KeyOfPeerId(peerId)
  if (raw == null) throw new Error(`${peerId} is not an Ed25519 PeerId`)
  return withChecksum(Uint8Array.from([PREFIX_USER, ...raw]))
}

/** The NATS user seed (`SU…`) of a 32-byte Ed25519 seed: what nats.js authenticates with. */
export function natsUserSeed (seed: Uint8Array): string {
  if (seed.byteLength !== 32) throw new Error('an Ed25519 seed is 32 bytes')
  return withChecksum(Uint8Array.from([PREFIX_SEED | (PREFIX_USER >> 5), (PREFIX_USER & 31) << 3, ...seed]))
}

/** Each anchor receives replies on its own inbox, so it may subscribe to nothing wider. */
export function anchorInboxPrefix (peerId: string): string {
  return `_INBOX.${peerId}`
}

/** The operator's inbox prefix, for the same reason. */
export const OPERATOR_INBOX_PREFIX = '_INBOX.meganet-operator'

/** A NATS user's permissions, as nats-server's config (and a user JWT) writes them. */
export interface NatsPermissions {
  readonly publish: { readonly allow: readonly string[] }
  readonly subscribe: { readonly allow: readonly string[] }
  /** Lets the user answer requests it received (commands), on their reply subjects only. */
  readonly allow_responses?: boolean
}

const JS = '$JS.API'

/**
 * What a bucket's reader needs: stream info, direct gets, and watches (ordered consumers).
 * `*` (any stream: NATS wildcards match whole subject tokens only) reads every bucket.
 */
function readBucket (bucket: string): string[] {
  const stream = bucket === '*' ? '*' : `KV_${bucket}`
  return [
    `${JS}.STREAM.INFO.${stream}`, `${JS}.DIRECT.GET.${stream}`, `${JS}.DIRECT.GET.${stream}.>`, `${JS}.STREAM.MSG.GET.${stream}`,
    `${JS}.CONSUMER.CREATE.${stream}`, `${JS}.CONSUMER.CREATE.${stream}.>`, `${JS}.CONSUMER.DELETE.${stream}.>`, `${JS}.CONSUMER.INFO.${stream}.>`,
    `$JS.FC.${stream}.>`
  ]
}

/**
 * What one anchor may do on NATS: write its own membership record and its own directory entries
 * (`<peer>.<itself>`), create (not delete or purge) its fleet's buckets, read its fleet, the
 * directory and other fleets' membership (directory checks), answer commands addressed to it,
 * and receive on its own inbox. Nothing else: not another anchor's keys, not `>`.
 */
export function anchorPermissions (peerId: string, scope: FleetScope): NatsPermissions {
  const members = membersBucket(scope)
  return {
    publish: {
      allow: [
        `$KV.${members}.${peerId}`,
        `$KV.${PEER_DIRECTORY_BUCKET}.*.${peerId}`,
        `${JS}.INFO`,
        `${JS}.STREAM.CREATE.KV_${members}`, `${JS}.STREAM.CREATE.KV_${PEER_DIRECTORY_BUCKET}`,
        ...readBucket(members), ...readBucket(PEER_DIRECTORY_BUCKET),
        // Other fleets' membership, to check the anchors their directory entries name.
        `${JS}.STREAM.INFO.*`, `${JS}.DIRECT.GET.*.>`
      ]
    },
    subscribe: { allow: [`meganet.${scope.region}.${scope.fleet}.cmd.${peerId}`, `${anchorInboxPrefix(peerId)}.>`] },
    allow_responses: true
  }
}

/** What the operator may do: read every fleet's membership and send commands (which anchors check are signed). */
export function operatorPermissions (): NatsPermissions {
  return {
    publish: { allow: [`${JS}.INFO`, 'meganet.*.*.cmd.*', ...readBucket('*')] },
    subscribe: { allow: [`${OPERATOR_INBOX_PREFIX}.>`] }
  }
}
