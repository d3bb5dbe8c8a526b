import { Counter, Gauge } from 'prom-client'
import type { Registry } from 'prom-client'

export const STORE_OUTCOMES = ['ok', 'refused', 'error'] as const

/** Live storage numbers read at scrape time. */
export interface StorageGaugeSource {
  storedBytes: () => number
  blocks: () => number
  capacityBytes: () => number
  repairQueue: () => number
  underReplicated: () => number
  drainBlocksLeft: () => number
}

/** `meganet_storage_*` metrics of one anchor. */
export class StorageMetrics {
  readonly operations: Counter<'op' | 'outcome'>
  readonly corruptBlocks: Counter
  readonly repairedBlocks: Counter
  readonly gcDeletedBlocks: Counter

  constructor (registry: Registry, source: StorageGaugeSource) {
    const registers = [registry]
    this.operations = new Counter({ name: 'meganet_storage_operations_total', help: 'Store requests, by operation and outcome', labelNames: ['op', 'outcome'], registers })
    this.corruptBlocks = new Counter({ name: 'meganet_storage_corrupt_blocks_total', help: 'Blocks found corrupt on disk', registers })
    this.repairedBlocks = new Counter({ name: 'meganet_storage_repaired_blocks_total', help: 'Block copies pushed to anchors that lacked them', registers })
    this.gcDeletedBlocks = new Counter({ name: 'meganet_storage_gc_deleted_blocks_total', help: 'Unreferenced blocks removed by garbage collection', registers })
    for (const op of ['put', 'get', 'has', 'replicate']) for (const outcome of STORE_OUTCOMES) this.operations.inc({ op, outcome }, 0)
    new Gauge({ name: 'meganet_storage_stored_bytes', help: 'Bytes of blocks stored', registers, collect () { this.set(source.storedBytes()) } })
    new Gauge({ name: 'meganet_storage_blocks', help: 'Blocks stored', registers, collect () { this.set(source.blocks()) } })
    new Gauge({ name: 'meganet_storage_capacity_bytes', help: 'Configured store capacity', registers, collect () { this.set(source.capacityBytes()) } })
    new Gauge({ name: 'meganet_storage_repair_queue', help: 'Block copies waiting to be pushed', registers, collect () { this.set(source.repairQueue()) } })
    new Gauge({ name: 'meganet_storage_under_replicated_blocks', help: 'Local blocks that the last repair scan found on fewer anchors than the replication factor', registers, collect () { this.set(source.underReplicated()) } })
    new Gauge({ name: 'meganet_storage_drain_blocks_left', help: 'Blocks a draining anchor has yet to hand off', registers, collect () { this.set(source.drainBlocksLeft()) } })
  }
}
