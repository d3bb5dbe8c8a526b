import { Counter, Gauge } from 'prom-client'
import type { ByteBudget } from '../net/byte-budget.js'
import type { Registry } from 'prom-client'

export const BUDGETED_PROTOCOLS = ['store', 'dht', 'lookup'] as const
export type BudgetedProtocol = (typeof BUDGETED_PROTOCOLS)[number]

/** `meganet_inflight_*`: bytes requests hold in memory per protocol, against each protocol's budget. */
export class InflightMetrics {
  readonly refused: Counter<'protocol'>
  private readonly budgets = new Map<BudgetedProtocol, ByteBudget>()

  constructor (registry: Registry) {
    const registers = [registry]
    const budgets = this.budgets
    new Gauge({
      name: 'meganet_inflight_bytes', help: 'Bytes held in memory by requests in flight, by protocol', labelNames: ['protocol'], registers,
      collect () { for (const [protocol, budget] of budgets) this.set({ protocol }, budget.held) }
    })
    new Gauge({
      name: 'meganet_inflight_budget_bytes', help: 'The most bytes requests in flight may hold, by protocol', labelNames: ['protocol'], registers,
      collect () { for (const [protocol, budget] of budgets) this.set({ protocol }, budget.limit) }
    })
    this.refused = new Counter({ name: 'meganet_inflight_refused_total', help: 'Requests refused because their protocol\'s in-flight budget was full', labelNames: ['protocol'], registers })
    for (const protocol of BUDGETED_PROTOCOLS) this.refused.inc({ protocol }, 0)
  }

  /** Reports a protocol's budget from now on. */
  track (protocol: BudgetedProtocol, budget: ByteBudget): void {
    this.budgets.set(protocol, budget)
  }
}
