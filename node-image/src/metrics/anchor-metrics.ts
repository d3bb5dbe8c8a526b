import { Counter, Gauge } from 'prom-client'
import { peeringLabels } from './peering-labels.js'
import type { Registry } from 'prom-client'

/** One peered fleet as this anchor sees it now. */
export interface PeeringSample {
  readonly bootstrapUrl: string
  /** Connected from this anchor now. */
  readonly connected: number
  /** When its list was last verified (ms since the epoch), null while this anchor holds no valid one. */
  readonly verifiedAt: number | null
}

/** Live numbers the metrics read at scrape time, so nothing is counted twice. */
export interface AnchorGaugeSource {
  peersByTransport: () => Record<string, number>
  reservations: () => number
  openCircuits: () => number
  routingTableSize: () => number
  /** The peered fleets in their configured order (fixed for the anchor's life). */
  peering: () => readonly PeeringSample[]
}

export const RESERVATION_REFUSALS = ['capacity', 'per_ip', 'per_prefix', 'draining', 'gater'] as const
export type ReservationRefusal = (typeof RESERVATION_REFUSALS)[number]

export const CIRCUIT_REFUSALS = ['per_peer', 'per_pair', 'per_prefix', 'draining'] as const
export type CircuitRefusal = (typeof CIRCUIT_REFUSALS)[number]

export const CIRCUIT_LIMITS = ['data', 'duration', 'idle'] as const
export type CircuitLimit = (typeof CIRCUIT_LIMITS)[number]

/** `meganet_*` metrics of one anchor, on its own registry (shared with libp2p's metrics). */
export class AnchorMetrics {
  readonly registry: Registry
  readonly reservationsAccepted: Counter
  readonly reservationsRefused: Counter<'reason'>
  readonly circuitsOpened: Counter
  readonly circuitsRefused: Counter<'reason'>
  readonly circuitsClosedByLimit: Counter<'limit'>
  readonly relayedBytes: Counter
  readonly connectionsUnanswered: Counter

  constructor (registry: Registry, version: string) {
    this.registry = registry
    const registers = [registry]
    new Gauge({ name: 'meganet_build_info', help: 'Build information; the value is always 1', labelNames: ['version', 'node_version'], registers })
      .set({ version, node_version: process.version }, 1)
    this.reservationsAccepted = new Counter({ name: 'meganet_relay_reservations_accepted_total', help: 'Relay reservations made or renewed', registers })
    this.reservationsRefused = new Counter({ name: 'meganet_relay_reservations_refused_total', help: 'Relay reservations refused, by reason', labelNames: ['reason'], registers })
    this.circuitsOpened = new Counter({ name: 'meganet_relay_circuits_opened_total', help: 'Relayed connections admitted', registers })
    this.circuitsRefused = new Counter({ name: 'meganet_relay_circuits_refused_total', help: 'Relayed connections refused, by reason', labelNames: ['reason'], registers })
    this.circuitsClosedByLimit = new Counter({ name: 'meganet_relay_circuits_closed_by_limit_total', help: 'Relayed connections cut at their data or duration limit, or closed when idle', labelNames: ['limit'], registers })
    this.relayedBytes = new Counter({ name: 'meganet_relay_relayed_bytes_total', help: 'Bytes carried through relayed connections, both directions', registers })
    this.connectionsUnanswered = new Counter({ name: 'meganet_connections_closed_unanswered_total', help: 'Connections closed because they did not answer a keepalive ping in time', registers })
    for (const reason of RESERVATION_REFUSALS) this.reservationsRefused.inc({ reason }, 0)
    for (const reason of CIRCUIT_REFUSALS) this.circuitsRefused.inc({ reason }, 0)
    for (const limit of CIRCUIT_LIMITS) this.circuitsClosedByLimit.inc({ limit }, 0)
  }

  /** The configured limits, so dashboards and alerts can show usage against them. */
  setLimits (limits: { maxReservations: number, maxConnections: number }): void {
    const registers = [this.registry]
    new Gauge({ name: 'meganet_relay_max_reservations', help: 'Configured relay reservation capacity', registers }).set(limits.maxReservations)
    new Gauge({ name: 'meganet_max_connections', help: 'Configured connection limit', registers }).set(limits.maxConnections)
  }

  /** Registers the gauges that read live state; called once the libp2p node exists. */
  bindGauges (source: AnchorGaugeSource): void {
    const registers = [this.registry]
    new Gauge({
      name: 'meganet_peers', help: 'Open connections, by transport', labelNames: ['transport'], registers,
      collect () {
        this.reset()
        for (const [transport, count] of Object.entries(source.peersByTransport())) this.set({ transport }, count)
      }
    })
    new Gauge({ name: 'meganet_relay_reservations', help: 'Relay reservations held now', registers, collect () { this.set(source.reservations()) } })
    new Gauge({ name: 'meganet_relay_circuits', help: 'Relayed connections open now', registers, collect () { this.set(source.openCircuits()) } })
    new Gauge({ name: 'meganet_dht_routing_table_peers', help: 'Peers in the DHT routing table', registers, collect () { this.set(source.routingTableSize()) } })
    this.bindPeeringGauges(source.peering)
  }

  /** Per peered fleet, labelled `peering` by its bootstrap URL with anything secret dropped (see {@link peeringLabels}). */
  private bindPeeringGauges (peering: () => readonly PeeringSample[]): void {
    const registers = [this.registry]
    const labels = peeringLabels(peering().map(p => p.bootstrapUrl))
    const each = (gauge: Gauge<'peering'>, value: (sample: PeeringSample) => number | undefined): void => {
      gauge.reset()
      peering().forEach((sample, i) => {
        const v = value(sample)
        if (v !== undefined) gauge.set({ peering: labels[i] ?? `#${i + 1}` }, v)
      })
    }
    new Gauge({
      name: 'meganet_peering_list_verified', help: 'Whether this anchor holds a verified, unexpired bootstrap list of the peered fleet (1) or not (0)', labelNames: ['peering'], registers,
      collect () { each(this, s => s.verifiedAt != null ? 1 : 0) }
    })
    new Gauge({
      name: 'meganet_peering_anchors_connected', help: 'Anchors of the peered fleet this anchor is connected to now', labelNames: ['peering'], registers,
      collect () { each(this, s => s.connected) }
    })
    new Gauge({
      name: 'meganet_peering_list_age_seconds', help: 'Seconds since this anchor last verified the peered fleet\'s bootstrap list (absent while it holds none)', labelNames: ['peering'], registers,
      collect () { each(this, s => s.verifiedAt != null ? Math.max(0, (Date.now() - s.verifiedAt) / 1000) : undefined) }
    })
  }
}
