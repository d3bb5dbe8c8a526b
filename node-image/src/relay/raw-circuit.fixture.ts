import type { PeerId } from '@libp2p/interface'

/**
 * Circuit relay v2 messages written by hand, for tests that play a source or a destination the
 * way no js-libp2p node would (one that never reads, or gives up half-way).
 */
function frame (message: Uint8Array): Uint8Array {
  return Uint8Array.of(message.byteLength, ...message)
}

/** A hop CONNECT (circuit v2 protobuf: type = 1, peer = { id }), length-prefixed. */
export function hopConnect (destination: PeerId): Uint8Array {
  const id = destination.toMultihash().bytes
  const peer = Uint8Array.of(0x0a, id.byteLength, ...id)
  return frame(Uint8Array.of(0x08, 0x01, 0x12, peer.byteLength, ...peer))
}

/** A stop STATUS OK (type = STATUS (1), status = OK (100)), length-prefixed. */
export const STOP_OK = frame(Uint8Array.of(0x08, 0x01, 0x20, 100))
