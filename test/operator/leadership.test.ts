import { AppsV1Api } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestControlPlane } from '../cluster/control-plane.js'
import { eventually } from '../helpers/anchor-process.js'
import { fleets, installCrd } from './kube-fixtures.js'
import { OperatorProcess } from './operator-process.js'
import type { AuditEvent } from '../cluster/control-plane.js'

const NS = 'leases'

/**
 * Two operator replicas, each with its own client certificate so that the API server's audit log
 * tells their writes apart. The leader is frozen (SIGSTOP: no renewals, no timers, its sockets
 * kept), the other takes over and changes things, and the old leader wakes with those changes
 * queued on its watches.
 */
describe('an operator that lost its lease', () => {
  let plane: TestControlPlane
  let api: ReturnType<typeof fleets>
  const operators: OperatorProcess[] = []

  beforeAll(async () => {
    plane = await TestControlPlane.start({ audit: true })
    await plane.createFakeNodes(3)
    await installCrd(plane)
    await plane.createNamespace(NS)
    api = fleets(plane)
  }, 300_000)

  afterAll(async () => {
    for (const o of operators) o.child.kill('SIGCONT')
    await Promise.all(operators.map(async o => await o.stop('SIGKILL')))
    await plane?.stop()
  })

  async function statefulSetReplicas (name: string): Promise<number | undefined> {
    return await plane.client(AppsV1Api).readNamespacedStatefulSet({ name: `${name}-anchor`, namespace: NS }).then(s => s.spec?.replicas, () => undefined)
  }

  it('writes nothing once another replica holds the lease, even when it wakes with work queued', { timeout: 120_000 }, async () => {
    const old = await OperatorProcess.start(await plane.userKubeconfig('op-old'), 'op-old')
    operators.push(old)
    await eventually(async () => await old.isLeader() ? true : undefined, 20_000, 'the first replica leads')
    await api.create(NS, 'one', { replicas: 1, storage: { size: '1Gi', replication: 1, writeQuorum: 1 } })
    await eventually(async () => (await statefulSetReplicas('one')) === 1 ? true : undefined, 30_000, 'the leader made the StatefulSet')

    const next = await OperatorProcess.start(await plane.userKubeconfig('op-next'), 'op-next')
    operators.push(next)
    await eventually(async () => (await next.metric('meganet_operator_kube_requests_total{verb="get",code="200"}').catch(() => 0)) >= 2 ? true : undefined, 20_000, 'the standby reads the lease')

    old.child.kill('SIGSTOP')
    await eventually(async () => await next.isLeader() ? true : undefined, 30_000, 'the standby takes over')
    // Work the old leader will find on waking: a new fleet and a change to the first.
    await api.create(NS, 'two', { replicas: 2, storage: { size: '1Gi', replication: 2, writeQuorum: 1 } })
    await api.scale(NS, 'one', 2)
    await eventually(async () => (await statefulSetReplicas('one')) === 2 && (await statefulSetReplicas('two')) === 2 ? true : undefined, 30_000, 'the new leader acted')

    old.child.kill('SIGCONT')
    await eventually(() => old.logs.some(l => l.includes('lost leadership')) ? true : undefined, 20_000, 'the old leader notices')
    // It stands down and waits to lead again: a second "waiting to lead" after the first.
    await eventually(() => old.logs.filter(l => l.includes('waiting to lead')).length >= 2 ? true : undefined, 40_000, 'the old leader stands by')
    await api.scale(NS, 'two', 3)
    await eventually(async () => (await statefulSetReplicas('two')) === 3 ? true : undefined, 30_000, 'the new leader still acts')

    const events = await plane.auditEvents()
    const writesBy = (user: string): AuditEvent[] => events.filter(e => e.user.username === user)
    const acquired = writesBy('op-next').find(e => e.objectRef?.resource === 'leases' && e.responseStatus?.code === 200)
    expect(acquired, 'the audit log records the new leader taking the lease').toBeDefined()
    // The audit log does tell the old leader's writes apart: it made the first StatefulSet.
    expect(writesBy('op-old').some(e => e.objectRef?.resource === 'statefulsets')).toBe(true)
    const late = writesBy('op-old').filter(e => e.requestReceivedTimestamp >= acquired!.requestReceivedTimestamp && (e.responseStatus?.code ?? 0) < 400)
    expect(late.map(e => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name} at ${e.requestReceivedTimestamp}`)).toEqual([])
    expect(old.running).toBe(true)
    expect(await old.isLeader()).toBe(false)
  })
})
