import { REJECTION_REASONS } from '@meganet/contracts'
import { Counter, Gauge } from 'prom-client'
import type { Registry } from 'prom-client'

export const REJECTED_SOURCES = ['member', 'directory', 'command'] as const
export type RejectedSource = (typeof REJECTED_SOURCES)[number]
export const LOOKUP_RESULTS = ['local', 'directory', 'record', 'miss', 'error'] as const
export type LookupResult = (typeof LOOKUP_RESULTS)[number]

/** `meganet_coordination_*` and peer-directory metrics of one anchor. */
export class CoordinationMetrics {
  readonly connected: Gauge
  readonly reconnects: Counter
  readonly heartbeatAge: Gauge
  readonly kvErrors: Counter<'op'>
  readonly commands: Counter<'command' | 'outcome'>
  readonly rejected: Counter<'source' | 'reason'>
  readonly members: Gauge
  readonly lookups: Counter<'result'>
  private heartbeatAgeSource: () => number | null = () => null

  constructor (registry: Registry) {
    const registers = [registry]
    this.connected = new Gauge({ name: 'meganet_coordination_connected', help: '1 while connected to NATS', registers })
    this.reconnects = new Counter({ name: 'meganet_coordination_reconnects_total', help: 'Reconnections to NATS', registers })
    const age = (): number => this.heartbeatAgeSource() ?? -1
    this.heartbeatAge = new Gauge({
      name: 'meganet_coordination_heartbeat_age_seconds',
      help: 'Seconds since the membership record was last written (-1 before the first)',
      registers,
      collect () { this.set(age()) }
    })
    this.kvErrors = new Counter({ name: 'meganet_coordination_kv_errors_total', help: 'Failed KV operations, by operation', labelNames: ['op'], registers })
    this.commands = new Counter({ name: 'meganet_coordination_commands_total', help: 'Commands received, by command and outcome', labelNames: ['command', 'outcome'], registers })
    this.rejected = new Counter({ name: 'meganet_coordination_messages_rejected_total', help: 'Coordination messages refused, by source and reason', labelNames: ['source', 'reason'], registers })
    this.members = new Gauge({ name: 'meganet_coordination_members', help: 'Live members of this anchor\'s fleet, itself included', registers })
    this.lookups = new Counter({ name: 'meganet_directory_lookups_total', help: 'Peer lookups answered, by where the answer came from', labelNames: ['result'], registers })
    this.connected.set(0)
    for (const source of REJECTED_SOURCES) for (const reason of REJECTION_REASONS) this.rejected.inc({ source, reason }, 0)
    for (const result of LOOKUP_RESULTS) this.lookups.inc({ result }, 0)
  }

  /** Where the heartbeat age is read at scrape time (null until the first record is written). */
  bindHeartbeatAge (source: () => number | null): void {
    this.heartbeatAgeSource = source
  }
}
