import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { FLEET_FINALIZER } from '@meganet/contracts'
import { OperatorMetrics } from '../operator-metrics.js'
import { FleetReconciler } from './fleet-reconciler.js'
import type { ReconcilerInit } from './fleet-reconciler.js'
import type { AnchorFleet } from '@meganet/contracts'

const fleet = {
  apiVersion: 'meganet.io/v1alpha1',
  kind: 'AnchorFleet',
  metadata: { name: 'anchors', namespace: 'mesh', uid: 'u1', generation: 2, finalizers: [FLEET_FINALIZER] },
  spec: { replicas: 3, region: 'local', nats: { url: 'nats://nats:4222' } }
} as unknown as AnchorFleet

/** Stands in for a dependency and records every use of it: the reconciler must not touch it. */
function recorder (uses: string[], name: string): never {
  return new Proxy({}, {
    get: (_target, property) => {
      uses.push(`${name}.${String(property)}`)
      throw new Error(`${name}.${String(property)} used`)
    }
  }) as never
}

function reconciler (cachesSynced: boolean, uses: string[]): FleetReconciler {
  const init: ReconcilerInit = {
    kube: recorder(uses, 'kube'),
    links: recorder(uses, 'links'),
    metrics: new OperatorMetrics(),
    defaultImage: 'meganet:test',
    operatorKeys: [],
    version: 'test',
    log: pino({ level: 'silent' }),
    fleet: () => fleet,
    // A 5 → 3 scale-down is under way, but the StatefulSet cache was just emptied by a watch restart.
    statefulSet: () => undefined,
    pods: () => [],
    cachesSynced: () => cachesSynced,
    memberTtlMs: 15_000
  }
  return new FleetReconciler(init)
}

describe('a fleet reconcile while the caches re-list', () => {
  it('waits and writes nothing: a StatefulSet missing from an unsynced cache is unknown, not absent', async () => {
    const uses: string[] = []
    expect(await reconciler(false, uses).reconcile('mesh/anchors')).toEqual({ requeueAfterMs: 1_000 })
    expect(uses).toEqual([])
  })

  it('acts once they have synced', async () => {
    const uses: string[] = []
    await reconciler(true, uses).reconcile('mesh/anchors').catch(() => {})
    expect(uses.length).toBeGreaterThan(0)
  })
})
