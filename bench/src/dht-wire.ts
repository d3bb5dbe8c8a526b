/**
 * Just enough of the kad-dht wire format (dht.proto) to play a hostile DHT client: messages are
 * encoded by hand so a test depends on nothing inside @libp2p/kad-dht.
 */
export const DHT_MESSAGE_TYPES = { PUT_VALUE: 0, GET_VALUE: 1, ADD_PROVIDER: 2, GET_PROVIDERS: 3, FIND_NODE: 4, PING: 5 } as const

function varint (value: number): number[] {
  const out: number[] = []
  let rest = value
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80)
    rest = Math.floor(rest / 128)
  }
  out.push(rest)
  return out
}

function bytesField (field: number, bytes: Uint8Array): number[] {
  return [...varint((field << 3) | 2), ...varint(bytes.byteLength), ...bytes]
}

function varintField (field: number, value: number): number[] {
  return [...varint(field << 3), ...varint(value)]
}

export function encodeRecord (key: Uint8Array, value: Uint8Array): Uint8Array {
  return Uint8Array.from([...bytesField(1, key), ...bytesField(2, value), ...bytesField(5, new TextEncoder().encode(new Date().toISOString()))])
}

export interface DhtPeerInfo { readonly id: Uint8Array, readonly multiaddrs: readonly Uint8Array[] }

function peerInfo (peer: DhtPeerInfo): Uint8Array {
  return Uint8Array.from([...bytesField(1, peer.id), ...peer.multiaddrs.flatMap(a => bytesField(2, a))])
}

export function encodeMessage (message: { type: number, key?: Uint8Array, record?: Uint8Array, providers?: readonly DhtPeerInfo[] }): Uint8Array {
  return Uint8Array.from([
    ...varintField(1, message.type),
    ...(message.key != null ? bytesField(2, message.key) : []),
    ...(message.record != null ? bytesField(3, message.record) : []),
    ...(message.providers ?? []).flatMap(p => bytesField(9, peerInfo(p)))
  ])
}

/** How many entries of `field` a message holds (e.g. 9: providers), reading top-level fields only. */
export function countField (message: Uint8Array, field: number): number {
  let offset = 0
  let count = 0
  const readVarint = (): number => {
    let value = 0
    let shift = 0
    for (;;) {
      const byte = message[offset++] ?? 0
      value += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return value
      shift += 7
    }
  }
  while (offset < message.byteLength) {
    const tag = readVarint()
    const wire = tag & 7
    if ((tag >>> 3) === field) count++
    if (wire === 0) readVarint()
    else if (wire === 2) {
      const length = readVarint()
      offset += length
    }
    else throw new Error(`unexpected wire type ${wire}`)
  }
  return count
}
