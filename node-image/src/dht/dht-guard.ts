import { Libp2pRecord } from '@libp2p/record'
import { Key } from 'interface-datastore'
import { toString as bytesToString } from 'uint8arrays'
import { ByteBudget } from '../net/byte-budget.js'
import { networkOf } from '../net/ip-prefix.js'
import { BoundedDhtStore } from './bounded-dht-store.js'
import type { BoundedDhtStoreInit } from './bounded-dht-store.js'
import type { Stream, StreamHandler, StreamMessageEvent } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import type { Datastore } from 'interface-datastore'

/**
 * What one inbound DHT stream may bring: a request is one small protobuf message (a few hundred
 * bytes; ADD_PROVIDER with addresses a few KiB). kad-dht itself would buffer up to 4 MiB per stream.
 */
export const MAX_DHT_STREAM_BYTES = 64 * 1024
/** Inbound DHT streams at once, all peers together, each counted at its byte cap. */
export const MAX_DHT_INFLIGHT_BYTES = 32 * 1024 * 1024
/** One network may hold this share of the inbound DHT streams. */
const NETWORK_SHARE = 0.125

export interface DhtGuardInit extends BoundedDhtStoreInit {
  readonly protocol: string
  /** Called when an inbound stream is refused for the budget, or cut for its size. */
  readonly onStreamRefused?: (reason: 'budget' | 'oversized') => void
}

/**
 * Bounds what hostile peers make the DHT hold: its records live in a {@link BoundedDhtStore}
 * (per-peer and total limits), each inbound stream may bring at most {@link MAX_DHT_STREAM_BYTES},
 * and inbound streams share one budget. It plugs into kad-dht through the components it is
 * given: the registrar (to wrap the protocol handler) and the datastore.
 */
export class DhtGuard {
  readonly store: BoundedDhtStore
  readonly budget = new ByteBudget({ limit: MAX_DHT_INFLIGHT_BYTES, holderShare: NETWORK_SHARE })
  private readonly init: DhtGuardInit

  constructor (init: DhtGuardInit) {
    this.init = init
    this.store = new BoundedDhtStore(init)
  }

  /** The value this anchor stores under a DHT key (as kad-dht keeps it, `/dht/record/<base32 key>`), if any. */
  localValue (key: Uint8Array): Uint8Array | undefined {
    const dsKey = new Key(`/dht/record/${bytesToString(key, 'base32')}`, false)
    if (!this.store.has(dsKey)) return undefined
    try {
      return Libp2pRecord.deserialize(this.store.get(dsKey)).value
    } catch {
      return undefined
    }
  }

  /** kad-dht's components with the bounded datastore and a registrar whose DHT handler is guarded. */
  components<T extends { registrar: Registrar, datastore: Datastore }> (components: T): T {
    return new Proxy(components, {
      get: (target, property, receiver) => {
        if (property === 'datastore') return this.store
        if (property === 'registrar') return this.registrar(target.registrar)
        return Reflect.get(target, property, receiver) as unknown
      }
    })
  }

  private registrar (registrar: Registrar): Registrar {
    return new Proxy(registrar, {
      get: (target, property, receiver) => {
        if (property !== 'handle') return Reflect.get(target, property, receiver) as unknown
        const handle: Registrar['handle'] = async (protocol, handler, options) => {
          await target.handle(protocol, protocol === this.init.protocol ? this.guarded(handler) : handler, options)
        }
        return handle
      }
    })
  }

  private guarded (handler: StreamHandler): StreamHandler {
    return async (stream, connection) => {
      const network = networkOf(connection.remoteAddr)
      const peer = connection.remotePeer.toString()
      const release = this.budget.tryAcquire(MAX_DHT_STREAM_BYTES, this.init.unlimited(peer) ? undefined : network)
      if (release == null) {
        this.init.onStreamRefused?.('budget')
        stream.abort(new Error('too many DHT requests in flight'))
        return
      }
      this.capBytes(stream)
      stream.addEventListener('close', () => { release() }, { once: true })
      try {
        await this.store.runAs(peer, async () => { await handler(stream, connection) })
      } finally {
        release()
      }
    }
  }

  /** Aborts the stream once it has brought more than the cap (observing dispatches, as RelayGuard does). */
  private capBytes (stream: Stream): void {
    let received = 0
    const dispatchEvent = stream.dispatchEvent.bind(stream)
    stream.dispatchEvent = (event: Event): boolean => {
      if (event.type === 'message') {
        received += (event as StreamMessageEvent).data.byteLength
        if (received > MAX_DHT_STREAM_BYTES) {
          this.init.onStreamRefused?.('oversized')
          stream.abort(new Error(`DHT stream brought more than ${MAX_DHT_STREAM_BYTES} bytes`))
          return false
        }
      }
      return dispatchEvent(event)
    }
  }
}
