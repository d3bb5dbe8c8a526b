import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { REFUSAL_REASONS } from './nats-auth/admission.js'

/** `meganet_operator_*` metrics. */
export class OperatorMetrics {
  readonly registry = new Registry()
  readonly reconciles: Counter<'outcome'>
  readonly reconcileDuration: Histogram
  readonly queueDepth: Gauge
  readonly kubeRequests: Counter<'verb' | 'code'>
  readonly fleets: Gauge
  readonly anchors: Gauge<'phase'>
  readonly leader: Gauge
  readonly scaleActions: Counter<'action'>
  readonly watchRestarts: Counter<'resource'>
  readonly queueWait: Histogram
  readonly natsLogins: Counter<'outcome'>

  constructor () {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    this.reconciles = new Counter({ name: 'meganet_operator_reconciles_total', help: 'Reconciles, by outcome', labelNames: ['outcome'], registers })
    this.reconcileDuration = new Histogram({ name: 'meganet_operator_reconcile_duration_seconds', help: 'Time one reconcile took', buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers })
    this.queueDepth = new Gauge({ name: 'meganet_operator_queue_depth', help: 'Fleets waiting to be reconciled', registers })
    this.kubeRequests = new Counter({ name: 'meganet_operator_kube_requests_total', help: 'Kubernetes API requests, by verb and HTTP code', labelNames: ['verb', 'code'], registers })
    this.fleets = new Gauge({ name: 'meganet_operator_fleets', help: 'AnchorFleets watched', registers })
    this.anchors = new Gauge({ name: 'meganet_operator_anchors', help: 'Anchors of all fleets, by phase', labelNames: ['phase'], registers })
    this.leader = new Gauge({ name: 'meganet_operator_leader', help: '1 while this replica leads', registers })
    this.scaleActions = new Counter({ name: 'meganet_operator_scale_actions_total', help: 'Scaling actions, by action', labelNames: ['action'], registers })
    this.watchRestarts = new Counter({ name: 'meganet_operator_watch_restarts_total', help: 'Watches restarted after failing (each re-lists its resource), by resource', labelNames: ['resource'], registers })
    this.queueWait = new Histogram({ name: 'meganet_operator_queue_wait_seconds', help: 'Time a fleet waited in the queue before its reconcile started', buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30], registers })
    this.natsLogins = new Counter({ name: 'meganet_operator_nats_logins_total', help: 'NATS logins the operator decided (auth callout), by outcome: admitted or the reason refused', labelNames: ['outcome'], registers })
    for (const outcome of ['admitted', ...REFUSAL_REASONS, 'forged']) this.natsLogins.inc({ outcome }, 0)
    for (const resource of ['anchorfleets', 'statefulsets', 'pods']) this.watchRestarts.inc({ resource }, 0)
    for (const outcome of ['ok', 'requeue', 'error']) this.reconciles.inc({ outcome }, 0)
    this.leader.set(0)
  }
}
