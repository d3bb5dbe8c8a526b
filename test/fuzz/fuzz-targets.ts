import { existsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { StreamMessageEvent } from '@libp2p/interface'
import fc from 'fast-check'
import {
  commandReplySchema, commandRequestSchema, decodePayload, directoryEntrySchema, directoryKey, encodePayload, lookupReplySchema,
  lookupRequestSchema, memberRecordSchema, moveNoticeSchema, signedEnvelopeSchema, storeReplySchema
} from '@meganet/contracts'
import {
  ReplayGuard, keyId, signCommand, signDirectoryEntry, signEnvelope, signMemberRecord, signStorageGrant, signingKeyFromSeed,
  verifyCommand, verifyDirectoryEntry, verifyMemberRecord, verifyStorageGrant
} from '../../fleet-client/src/index.js'
import { StoreError, decodeHeader, decodeStoreRequest, encodeHeader } from '../../node-image/src/blocks/store-client.js'
import { BootstrapListError, signBootstrapList, verifyBootstrapList } from '../../node-image/src/bootstrap/signed-list.js'
import { loadAnchorConfig } from '../../node-image/src/config/anchor-config.js'
import { OPTION_KINDS } from '../../node-image/src/config/anchor-options.js'
import { ConfigError } from '../../node-image/src/config/errors.js'
import { parseOptionText } from '../../node-image/src/config/option-values.js'
import { redactNatsUrl } from '../../node-image/src/coordination/nats-options.js'
import { LinkError, parseLink } from '../../node-image/src/files/link.js'
import { ManifestError, decodeManifest } from '../../node-image/src/files/manifest.js'
import { FrameRefusedError, FrameStreamError, FrameTooLargeError, boundedFrames } from '../../node-image/src/net/bounded-frames.js'
import { ipKeys } from '../../node-image/src/net/ip-prefix.js'
import { FrameError, decodeJsonFrame } from '../../node-image/src/net/json-frames.js'
import { hopConnectDestination, hopMessageType } from '../../node-image/src/relay/relay-guard.js'
import { anyBytes, hostileBytes, mutatedJson } from './fuzz-inputs.js'
import type { SigningKey } from '../../fleet-client/src/index.js'
import type { MemberRecord, SignedEnvelope } from '@meganet/contracts'
import type { Stream } from '@libp2p/interface'

/** How a fuzz run is asked for: cases, and a seed to replay one. */
export interface FuzzRun {
  readonly numRuns: number
  readonly seed?: number
}

/** One decoder or parser under fuzz: inputs, and a check that passes unless it crashes or lies. */
export interface FuzzTarget {
  readonly name: string
  /** Builds its inputs and runs the property `run.numRuns` times (fast-check reports any failure with its seed). */
  run: (run: FuzzRun) => Promise<void> | void
}

/** Runs `fn`; an error is fine only if it is one of the typed errors the decoder documents. */
function expectOnly (fn: () => unknown, ...allowed: Array<abstract new (...args: never[]) => Error>): void {
  try {
    fn()
  } catch (err) {
    if (!allowed.some(type => err instanceof type)) throw err
  }
}

async function expectOnlyAsync (fn: () => Promise<unknown>, ...allowed: Array<abstract new (...args: never[]) => Error>): Promise<void> {
  try {
    await fn()
  } catch (err) {
    if (!allowed.some(type => err instanceof type)) throw err
  }
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
const scope = { region: 'local', fleet: 'fuzz' }

function keys (): { key: SigningKey, id: string, other: SigningKey, otherId: string } {
  const key = signingKeyFromSeed(new Uint8Array(32).fill(7))
  const other = signingKeyFromSeed(new Uint8Array(32).fill(9))
  return { key, id: keyId(key), other, otherId: keyId(other) }
}

function memberRecord (peerId: string, now: number): MemberRecord {
  return {
    schema: 1, peerId, multiaddrs: [`/ip4/203.0.113.1/tcp/4001/p2p/${peerId}`], roles: ['bootstrap', 'relay', 'storage'], region: scope.region,
    fleet: scope.fleet, pod: 'fuzz-anchor-0', phase: 'serving', version: '1', startedAt: now - 1000, updatedAt: now, heartbeatMs: 5000,
    load: { connectedPeers: 1, reservations: 1, relayedBytesPerSecond: 0, storedBytes: 0, freeDiskBytes: 1, eventLoopLagSeconds: 0 }
  }
}

/** A stand-in stream (just what boundedFrames touches) fed the given chunks, then ended. */
function chunkedStream (chunks: readonly Uint8Array[]): Stream {
  const target = new EventTarget() as EventTarget & { readStatus: string, pause: () => void, resume: () => void, send: () => boolean }
  target.readStatus = 'readable'
  target.pause = () => { target.readStatus = 'paused' }
  target.resume = () => { target.readStatus = 'readable' }
  target.send = () => true
  queueMicrotask(() => {
    for (const chunk of chunks) target.dispatchEvent(new StreamMessageEvent(chunk))
    target.dispatchEvent(new Event('remoteCloseWrite'))
  })
  return target as unknown as Stream
}

const CID = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  {
    name: 'store request headers',
    run: run => {
      const valid = [
        { op: 'put', cid: CID, size: 10, pin: true }, { op: 'get', cid: CID, local: true }, { op: 'has', cids: [CID], touch: true },
        { op: 'replicate', cid: CID, size: 10, leases: [{ owner: keys().id, expiresAt: 1 }] }, { op: 'pin', cid: CID }, { op: 'unpin', cid: CID },
        { op: 'lease', cid: CID, lease: { owner: keys().id, expiresAt: 0 } }
      ].map(v => encodeHeader(v))
      fc.assert(fc.property(hostileBytes(valid), bytes => { expectOnly(() => decodeStoreRequest(bytes), StoreError) }), run)
    }
  },
  {
    name: 'store replies',
    run: run => {
      const valid = [{ ok: true, replicas: 2, leaseExpiresAt: 5 }, { ok: true, size: 3 }, { ok: false, code: 'malformed', error: 'x' }].map(v => encodeHeader(v))
      fc.assert(fc.property(hostileBytes(valid), bytes => {
        expectOnly(() => storeReplySchema.safeParse(decodeHeader(bytes)), StoreError)
      }), run)
    }
  },
  {
    name: 'store frames',
    run: async run => { await fc.assert(fc.asyncProperty(
      fc.array(anyBytes, { maxLength: 8 }), fc.integer({ min: 0, max: 70_000 }),
      async (chunks, maxLength) => {
        const frames = boundedFrames(chunkedStream(chunks), 1024)
        // The stand-in stream always ends, so reads finish without a timer (timers would keep each case alive a second).
        const signal = new AbortController().signal
        for (let i = 0; i < 4; i++) {
          try {
            const frame = await frames.read({ maxLength, signal, admit: length => length <= maxLength })
            if (frame.byteLength > maxLength) throw new Error(`frame of ${frame.byteLength} bytes past the ${maxLength} limit`)
          } catch (err) {
            if (err instanceof FrameTooLargeError || err instanceof FrameRefusedError || err instanceof FrameStreamError) return
            throw err
          }
        }
      }), run)
    }
  },
  {
    name: 'JSON frames (lookup, notice)',
    run: run => {
      const { id } = keys()
      const valid = [{ peerId: id }, { found: true, source: 'local', multiaddrs: ['/ip4/1.2.3.4/tcp/1'] }, { type: 'move', anchors: [`/ip4/1.2.3.4/tcp/1/p2p/${id}`] }].map(json)
      fc.assert(fc.property(hostileBytes(valid), bytes => {
        for (const schema of [lookupRequestSchema, lookupReplySchema, moveNoticeSchema]) expectOnly(() => decodeJsonFrame(bytes, schema as never), FrameError)
      }), run)
    }
  },
  {
    name: 'NATS payloads',
    run: async run => {
      const { key, id } = keys()
      const now = Date.now()
      const valid = [
        encodePayload(await signMemberRecord(key, memberRecord(id, now))),
        encodePayload(await signCommand(key, 'drain', { anchor: id, scope })),
        json({ ok: true, command: 'drain', member: await signMemberRecord(key, memberRecord(id, now)) })
      ]
      fc.assert(fc.property(hostileBytes(valid), bytes => {
        for (const schema of [memberRecordSchema, directoryEntrySchema, commandRequestSchema, commandReplySchema, signedEnvelopeSchema]) {
          const result = decodePayload(schema as never, bytes)
          if (typeof result.ok !== 'boolean') throw new Error('decodePayload returned no verdict')
        }
      }), run)
    }
  },
  {
    name: 'signed membership records',
    run: async run => {
      const { key, id } = keys()
      const now = Date.now()
      const record = memberRecord(id, now)
      const valid = encodePayload(await signMemberRecord(key, record))
      // Fields of a record its own key signed: the signature holds, so every later check is reached.
      const signedFields = mutatedJson(record).map(value => ({ signed: value }))
      await fc.assert(fc.asyncProperty(fc.oneof(hostileBytes([valid]), signedFields), async input => {
        const bytes = input instanceof Uint8Array ? input : encodePayload(await signMemberRecord(key, (input as { signed: MemberRecord }).signed))
        const verdict = verifyMemberRecord(bytes, { scope, ttlMs: 15_000, key: id, now })
        if (verdict.ok && (verdict.value.peerId !== id || verdict.value.updatedAt > now + 5_000)) throw new Error('accepted a record it must refuse')
      }), run)
    }
  },
  {
    name: 'signed directory entries',
    run: async run => {
      const { key, id } = keys()
      const now = Date.now()
      const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
      const entry = { schema: 1 as const, peerId: peer, anchor: id, region: 'local', fleet: 'fuzz', multiaddrs: [`/ip4/1.2.3.4/tcp/1/p2p/${id}/p2p-circuit/p2p/${peer}`], updatedAt: now, expiresAt: now + 60_000 }
      const valid = encodePayload(await signDirectoryEntry(key, entry))
      await fc.assert(fc.asyncProperty(fc.oneof(hostileBytes([valid]), mutatedJson(entry).map(value => ({ signed: value }))), async input => {
        const bytes = input instanceof Uint8Array ? input : encodePayload(await signDirectoryEntry(key, (input as { signed: typeof entry }).signed))
        const verdict = verifyDirectoryEntry(bytes, { key: directoryKey(peer, id), now })
        if (verdict.ok && verdict.value.multiaddrs.some(a => !a.endsWith(`/p2p/${id}/p2p-circuit/p2p/${peer}`))) throw new Error('accepted an entry leading elsewhere')
      }), run)
    }
  },
  {
    name: 'signed commands',
    run: async run => {
      const { key, id, other } = keys()
      const valid = encodePayload(await signCommand(key, 'drain', { anchor: id, scope }))
      const request = JSON.parse((await signCommand(key, 'undrain', { anchor: id, scope })).payload) as Record<string, unknown>
      const replay = new ReplayGuard()
      await fc.assert(fc.asyncProperty(fc.oneof(hostileBytes([valid]), mutatedJson(request).map(value => ({ signed: value }))), fc.boolean(), async (input, trustedSigner) => {
        const bytes = input instanceof Uint8Array ? input : encodePayload(await signEnvelopeAs(trustedSigner ? key : other, (input).signed))
        const verdict = verifyCommand(bytes, { anchor: id, scope, trusted: new Set([id]), replay })
        if (verdict.ok && verdict.signer !== id) throw new Error('obeyed an untrusted key')
      }), run)
    }
  },
  {
    name: 'storage grants',
    run: async run => {
      const { key, id, otherId } = keys()
      const now = Date.now()
      const grant = { holder: otherId, issuedAt: now, expiresAt: now + 60_000, bytesPerDay: null, leaseBytes: 1000 }
      const valid = encodePayload(await signStorageGrant(key, grant))
      await fc.assert(fc.asyncProperty(fc.oneof(hostileBytes([valid]), mutatedJson(grant).map(value => ({ signed: value }))), async input => {
        const bytes = input instanceof Uint8Array ? input : encodePayload(await signStorageGrant(key, (input as { signed: typeof grant }).signed))
        const envelope = decodePayload(signedEnvelopeSchema, bytes)
        if (!envelope.ok) return
        const verdict = verifyStorageGrant(envelope.value, { holder: otherId, trusted: new Set([id]), now })
        if (verdict.ok && verdict.value.holder !== otherId) throw new Error('accepted a grant for someone else')
      }), run)
    }
  },
  {
    name: 'bootstrap lists',
    run: async run => {
      const key = await generateKeyPair('Ed25519')
      const id = peerIdFromPrivateKey(key).toString()
      const signed = await signBootstrapList(key, id, [{ peerId: id, multiaddrs: [`/ip4/203.0.113.7/tcp/4001/p2p/${id}`] }], 60_000)
      const list = JSON.parse(signed.payload) as unknown
      const valid = json(signed)
      await fc.assert(fc.asyncProperty(fc.oneof(hostileBytes([valid]), mutatedJson(list).map(value => ({ signed: value }))), async input => {
        let value: unknown
        if (input instanceof Uint8Array) {
          try { value = JSON.parse(new TextDecoder().decode(input)) } catch { return }
        } else {
          const payload = JSON.stringify((input).signed) ?? 'null'
          const signature = Buffer.from(await key.sign(new TextEncoder().encode(`meganet-bootstrap-list:v1:${payload}`))).toString('base64url')
          value = { signer: id, payload, signature }
        }
        await expectOnlyAsync(async () => await verifyBootstrapList(value, [id]), BootstrapListError)
      }), run)
    }
  },
  {
    name: 'anchor config files',
    run: run => {
      const file = `${process.env.MEGANET_FUZZ_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir())}/fuzz-anchor-config-${process.pid}.yaml`
      const valid = [
        'relay:\n  maxReservations: 10\n  circuitDataLimit: 1MiB\nstorage:\n  prefixShare: 10%\nnats:\n  servers: [nats://a:4222]\n',
        JSON.stringify({ listen: { tcpPort: 1 }, coordination: { operatorKeys: [keys().id] } })
      ].map(text => new TextEncoder().encode(text))
      fc.assert(fc.property(fc.oneof(hostileBytes(valid), fc.string({ maxLength: 300 }).map(text => new TextEncoder().encode(text))), bytes => {
        writeFileSync(file, bytes)
        expectOnly(() => loadAnchorConfig({ file }), ConfigError)
      }), run)
    }
  },
  {
    name: 'option values',
    run: run => { fc.assert(fc.property(fc.constantFrom(...OPTION_KINDS), fc.string({ maxLength: 64 }), (kind, text) => {
      const result = parseOptionText(kind, text)
      if (typeof result.ok !== 'boolean') throw new Error('no verdict')
    }), run)
    }
  },
  {
    name: 'meganet:// links',
    run: run => { fc.assert(fc.property(
      fc.oneof(fc.string({ maxLength: 200 }), fc.string({ maxLength: 120 }).map(s => `meganet://${s}`),
        fc.tuple(fc.string({ maxLength: 10 }), fc.base64String({ maxLength: 60 })).map(([a, b]) => `meganet://bagaaiera${a}#${b}`)),
      text => { expectOnly(() => parseLink(text), LinkError) }), run)
    }
  },
  {
    name: 'file manifests',
    run: run => {
      const valid = json({ v: 1, chunks: [{ cid: CID, size: 3 }], meta: 'abc' })
      fc.assert(fc.property(hostileBytes([valid]), bytes => { expectOnly(() => decodeManifest(bytes), ManifestError) }), run)
    }
  },
  {
    name: 'IP addresses, NATS URLs and relay hop frames',
    run: run => { fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.ipV4(), fc.ipV6(), fc.webUrl()), anyBytes, (text, frame) => {
      ipKeys(text)
      redactNatsUrl(text)
      hopConnectDestination(frame)
      hopMessageType(frame)
    }), run)
    }
  }
]

/** Signs any value as a command envelope (the shape may be wrong: that is the point). */
async function signEnvelopeAs (key: SigningKey, value: unknown): Promise<SignedEnvelope> {
  return await signEnvelope(key, 'command', value)
}
