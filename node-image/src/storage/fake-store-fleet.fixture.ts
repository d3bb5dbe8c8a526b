import { streamPair } from '@libp2p/utils'
import { MAX_BLOCK_BYTES, PROTOCOLS } from '@meganet/contracts'
import { signingKeyFromSeed } from '@meganet/fleet-client'
import { decodeStoreRequest, encodeHeader, readFrame, storeFrames } from '../blocks/store-client.js'
import type { Lease, StoreErrorCode, StoreOp, StoreReply, StoreRequest } from '@meganet/contracts'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

/**
 * A fleet of fake fellow anchors for the storage unit tests (store service, replicator): their
 * stores in memory, answering the store protocol over in-memory streams, or failing as told.
 */

/** PeerIds from fixed seeds: placement, and so which block lands where, is the same on every run. */
export const peerIdOf = (seed: number): string => signingKeyFromSeed(new Uint8Array(32).fill(seed)).publicKey.toString()
export const SELF = peerIdOf(1)
export const A = peerIdOf(2)
export const B = peerIdOf(3)
export const C = peerIdOf(4)
export const D = peerIdOf(5)
/** A client peer (not a fleet member) and another one. */
export const PEER = peerIdOf(100)
export const OTHER_PEER = peerIdOf(101)

export const encode = (text: string): Uint8Array => new TextEncoder().encode(text)
export const decode = (bytes: Uint8Array | undefined): string | undefined => bytes == null ? undefined : new TextDecoder().decode(bytes)

export interface Held { bytes: Uint8Array, leases: Lease[] }

/** Another anchor's store, in memory: answers the store protocol as an anchor does, or fails as told. */
export class FakeAnchor {
  readonly id: string
  readonly blocks = new Map<string, Held>()
  /** Dials to it fail (down, partitioned). */
  unreachable = false
  /** Serves bytes that do not hash to the CID asked for. */
  tampered = false
  /** Ops it refuses, and the code it refuses them with. */
  readonly refusing = new Map<StoreOp, StoreErrorCode>()

  constructor (id: string) {
    this.id = id
  }

  hold (cid: CID, bytes: Uint8Array, leases: Lease[] = []): void {
    this.blocks.set(cid.toString(), { bytes, leases })
  }

  text (cid: CID): string | undefined {
    return decode(this.blocks.get(cid.toString())?.bytes)
  }

  answer (request: StoreRequest, block?: Uint8Array): { reply: StoreReply, data?: Uint8Array } {
    const code = this.refusing.get(request.op)
    if (code != null) return { reply: { ok: false, code, error: `${request.op} refused` } }
    switch (request.op) {
      case 'replicate': {
        const leases = new Map((this.blocks.get(request.cid)?.leases ?? []).map(lease => [lease.owner, lease]))
        for (const lease of request.leases ?? []) if ((leases.get(lease.owner)?.expiresAt ?? -1) < lease.expiresAt) leases.set(lease.owner, lease)
        this.blocks.set(request.cid, { bytes: Uint8Array.from(block ?? []), leases: [...leases.values()] })
        return { reply: { ok: true, replicas: 1 } }
      }
      case 'has': return { reply: { ok: true, has: request.cids.map(cid => this.blocks.has(cid)) } }
      case 'get': {
        const held = this.blocks.get(request.cid)
        if (held == null) return { reply: { ok: false, code: 'not_found', error: 'not stored here' } }
        const data = this.tampered ? held.bytes.map(byte => byte ^ 0xff) : held.bytes
        return { reply: { ok: true, size: data.byteLength }, data }
      }
      case 'lease': {
        const held = this.blocks.get(request.cid)
        if (held == null) return { reply: { ok: true, has: [false] } }
        const { lease } = request
        held.leases = [...held.leases.filter(l => l.owner !== lease.owner), ...(lease.expiresAt > Date.now() ? [lease] : [])]
        return { reply: { ok: true, has: [true] } }
      }
      default: return { reply: { ok: false, code: 'forbidden', error: `${request.op} is not for anchors` } }
    }
  }
}

export interface Call { readonly to: string, readonly request: StoreRequest, readonly block?: Uint8Array }

/** What the anchor under test can dial: a libp2p node whose store streams reach the fake anchors. Records what they are asked. */
export class FakeNetwork {
  readonly anchors: Map<string, FakeAnchor>
  /** Every anchor dialled, in order, reached or not. */
  readonly dials: string[] = []
  /** Every request that reached an anchor. */
  readonly calls: Call[] = []
  readonly node: Libp2p

  constructor (ids: string[]) {
    this.anchors = new Map(ids.map(id => [id, new FakeAnchor(id)]))
    const dialProtocol = async (peer: PeerId, protocol: string): Promise<Stream> => {
      const id = peer.toString()
      this.dials.push(id)
      const anchor = this.anchors.get(id)
      if (protocol !== PROTOCOLS.store || anchor == null || anchor.unreachable) throw new Error(`cannot dial ${id}`)
      const [client, server] = await streamPair()
      void this.serve(anchor, server)
      return client
    }
    this.node = { dialProtocol } as unknown as Libp2p
  }

  anchor (id: string): FakeAnchor {
    const anchor = this.anchors.get(id)
    if (anchor == null) throw new Error(`no fake anchor ${id}`)
    return anchor
  }

  requests (op: StoreOp): Call[] {
    return this.calls.filter(call => call.request.op === op)
  }

  private async serve (anchor: FakeAnchor, stream: Stream): Promise<void> {
    const signal = AbortSignal.timeout(5_000)
    try {
      const frames = storeFrames(stream)
      const request = decodeStoreRequest(await readFrame(frames, signal))
      const block = request.op === 'put' || request.op === 'replicate' ? (await frames.read({ maxLength: MAX_BLOCK_BYTES, signal })).subarray() : undefined
      this.calls.push({ to: anchor.id, request, ...(block != null ? { block } : {}) })
      const { reply, data } = anchor.answer(request, block)
      await frames.write(encodeHeader(reply), signal)
      if (data != null) await frames.write(data, signal)
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
    }
  }
}
