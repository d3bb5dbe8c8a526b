import { ed25519KeyOfPeerId, peerIdOfEd25519Key } from './trust/ed25519.js'
import { keyId } from './trust/signed-envelope.js'
import type { SigningKey } from './trust/ed25519.js'
import type { NKeyAuth } from '@nats-io/nats-core'
import { membersBucket, PEER_DIRECTORY_BUCKET } from '@meganet/contracts'
import type { FleetScope } from '@meganet/contracts'

/**
 * An anchor's NATS identity is its libp2p key: NATS nkeys are Ed25519 too, so the anchor signs
 * the server's nonce with the key its PeerId names, and NATS permissions can be written per
 * PeerId. No NATS secret to hand out per anchor, and none that outlives the identity.
 */

const PREFIX_SEED = 18 << 3
const PREFIX_USER = 20 << 3
const PREFIX_ACCOUNT = 0
const PREFIX_SERVER = 13 << 3
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

function crc16 (bytes: Uint8Array): number {
  let crc = 0
  for (const byte of bytes) {
    crc ^= byte << 8
    for (let i = 0; i < 8; i++) crc = (crc & 0x8000) !== 0 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

/** RFC 4648 base32 without padding, as NATS spells nkeys and JWT ids. */
export function base32 (bytes: Uint8Array): string {
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

function base32Decode (text: string): Uint8Array | undefined {
  const out: number[] = []
  let bits = 0
  let value = 0
  for (const char of text) {
    const digit = BASE32.indexOf(char)
    if (digit < 0) return undefined
    value = ((value << 5) | digit) & 0xffff
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Uint8Array.from(out)
}

/** The NATS user nkey (`U…`) of an Ed25519 PeerId: what a server config lists for that anchor. */
export function natsUserOfPeerId (peerId: string): string {
  const raw = ed25519KeyOfPeerId(peerId)
  if (raw == null) throw new Error(`${peerId} is not an Ed25519 PeerId`)
  return withChecksum(Uint8Array.from([PREFIX_USER, ...raw]))
}

/** The NATS account nkey (`A…`) of an Ed25519 PeerId: the operator's key as the issuer of auth callout answers. */
export function natsAccountOfPeerId (peerId: string): string {
  const raw = ed25519KeyOfPeerId(peerId)
  if (raw == null) throw new Error(`${peerId} is not an Ed25519 PeerId`)
  return withChecksum(Uint8Array.from([PREFIX_ACCOUNT, ...raw]))
}

/**
 * The PeerId whose key a user nkey (`U…`) is, or undefined for anything that is not a well-formed
 * user nkey (wrong length, prefix or checksum): how the operator names a NATS client it admits.
 */
export function peerIdOfNatsUser (nkey: string): string | undefined {
  return peerIdOfNkey(nkey, 'U', PREFIX_USER)
}

/**
 * The PeerId form of a server nkey (`N…`, a server's ID): what checks that an auth callout
 * request was signed by the server it names.
 */
export function peerIdOfNatsServer (nkey: string): string | undefined {
  return peerIdOfNkey(nkey, 'N', PREFIX_SERVER)
}

function peerIdOfNkey (nkey: string, letter: string, prefix: number): string | undefined {
  if (nkey.length !== 56 || !nkey.startsWith(letter)) return undefined
  const bytes = base32Decode(nkey)
  if (bytes?.byteLength !== 35 || bytes[0] !== prefix) return undefined
  const crc = crc16(bytes.subarray(0, 33))
  if (bytes[33] !== (crc & 0xff) || bytes[34] !== (crc >> 8)) return undefined
  return peerIdOfEd25519Key(bytes.subarray(1, 33))
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
 * (`<peer>.<itself>`), read its fleet's buckets (the operator creates them: whoever creates a
 * stream decides its subjects, so an anchor may create none), read its fleet, the
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
        ...readBucket(members), ...readBucket(PEER_DIRECTORY_BUCKET),
        // Other fleets' membership, to check the anchors their directory entries name.
        `${JS}.STREAM.INFO.*`, `${JS}.DIRECT.GET.*.>`
      ]
    },
    subscribe: { allow: [`meganet.${scope.region}.${scope.fleet}.cmd.${peerId}`, `${anchorInboxPrefix(peerId)}.>`] },
    allow_responses: true
  }
}

/** Where nats-server asks who may connect (auth callout), and the operator answers. */
export const AUTH_CALLOUT_SUBJECT = '$SYS.REQ.USER.AUTH'

/**
 * What the operator may do: create the fleets' buckets, read every fleet's membership and send
 * commands (which anchors check are signed); with `authCallout`, also receive and answer the server's questions of who
 * may connect.
 */
export function operatorPermissions (options: { authCallout?: boolean } = {}): NatsPermissions {
  return {
    // Creates every fleet's buckets (before its anchors open them), with fixed options.
    publish: { allow: [`${JS}.INFO`, 'meganet.*.*.cmd.*', `${JS}.STREAM.CREATE.*`, ...readBucket('*')] },
    subscribe: { allow: [`${OPERATOR_INBOX_PREFIX}.>`, ...(options.authCallout === true ? [AUTH_CALLOUT_SUBJECT] : [])] },
    ...(options.authCallout === true ? { allow_responses: true } : {})
  }
}

/**
 * A nats.js authenticator that logs in as `key`'s user nkey, signing the server's nonce: how the
 * operator connects with its command key. The key must sign synchronously (nats.js asks so).
 */
export function natsKeyAuthenticator (key: SigningKey): (nonce?: string) => NKeyAuth {
  const nkey = natsUserOfPeerId(keyId(key))
  return (nonce?: string) => {
    if (nonce == null) return { nkey, sig: '' }
    const signature = key.sign(new TextEncoder().encode(nonce))
    if (signature instanceof Promise) throw new Error('natsKeyAuthenticator needs a key that signs synchronously')
    return { nkey, sig: Buffer.from(signature).toString('base64url') }
  }
}
