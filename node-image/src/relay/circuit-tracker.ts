import type { Stream } from '@libp2p/interface'

/** One relayed connection, seen from its hop stream (source → relay). */
interface Circuit {
  readonly stream: Stream
  readonly source: string
  readonly sourceNetwork?: string
  readonly destination: string
  /** Set once the relay admitted it (the gater said yes); until then it is a request. */
  admitted: boolean
  windowStart: number
  windowBytes: number
}

/**
 * The circuits open through this relay, by source, source network and destination, so caps
 * can be asked per pair and per network-to-destination, and idle ones found. A circuit is
 * registered when its CONNECT request arrives, admitted when the relay's gater lets it open,
 * and forgotten when its hop stream closes.
 */
export class CircuitTracker {
  private readonly circuits = new Set<Circuit>()
  private readonly byDestination = new Map<string, Set<Circuit>>()

  /**
   * A CONNECT request arrived on `stream`; forgets it when the stream closes. The returned
   * function counts bytes moved on the stream (either direction).
   */
  request (stream: Stream, source: string, sourceNetwork: string | undefined, destination: string, now: number): (bytes: number) => void {
    const circuit: Circuit = { stream, source, destination, admitted: false, windowStart: now, windowBytes: 0, ...(sourceNetwork != null ? { sourceNetwork } : {}) }
    this.circuits.add(circuit)
    let forDestination = this.byDestination.get(destination)
    if (forDestination == null) this.byDestination.set(destination, forDestination = new Set())
    forDestination.add(circuit)
    stream.addEventListener('close', () => {
      this.circuits.delete(circuit)
      forDestination.delete(circuit)
      if (forDestination.size === 0 && this.byDestination.get(destination) === forDestination) this.byDestination.delete(destination)
    }, { once: true })
    return bytes => { circuit.windowBytes += bytes }
  }

  /** Admitted circuits to `destination` from `source`, and from `sourceNetwork`. */
  count (source: string, sourceNetwork: string | undefined, destination: string): { pair: number, network: number } {
    let pair = 0
    let network = 0
    for (const circuit of this.byDestination.get(destination) ?? []) {
      if (!circuit.admitted) continue
      if (circuit.source === source) pair++
      if (sourceNetwork != null && circuit.sourceNetwork === sourceNetwork) network++
    }
    return { pair, network }
  }

  /** The oldest pending request from `source` to `destination` is now a circuit. */
  admit (source: string, destination: string): void {
    for (const circuit of this.byDestination.get(destination) ?? []) {
      if (!circuit.admitted && circuit.source === source) { circuit.admitted = true; return }
    }
  }

  /**
   * Circuits that moved fewer than `minBytes` in the last `windowMs` (keepalive pings only): the
   * caller closes them. Others start a new window.
   */
  idle (windowMs: number, minBytes: number, now: number): Stream[] {
    const idle: Stream[] = []
    for (const circuit of this.circuits) {
      if (!circuit.admitted || now - circuit.windowStart < windowMs) continue
      if (circuit.windowBytes < minBytes) idle.push(circuit.stream)
      circuit.windowStart = now
      circuit.windowBytes = 0
    }
    return idle
  }

  get size (): number {
    return this.circuits.size
  }
}
