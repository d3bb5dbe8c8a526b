import { randomBytes } from 'node:crypto'
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cidOf } from '../../node-image/src/blocks/cid.js'
import { storeRequest } from '../../node-image/src/blocks/store-client.js'
import { MeganetPeer } from '../../node-image/src/peer/index.js'
import { TestControlPlane } from '../cluster/control-plane.js'
import { AnchorProcess, eventually } from '../helpers/anchor-process.js'
import { TestNats } from '../helpers/nats.js'
import { fleets, installCrd } from './kube-fixtures.js'
import { OperatorProcess } from './operator-process.js'
import { testOperatorKey } from '../helpers/operator-key.js'
import { PodAnchors } from './pod-anchors.js'
import type { CID } from 'multiformats/cid'

const NS = 'live'
const FLEET = 'live'
/** A valid Ed25519 PeerId that signed nothing here. */
const STRANGER = '12D3KooWAzq9G3uXFpRbAGq8oU2hWJfZ6BEmAXWcxnp7vWMMxbDh'

describe('the operator with real anchors behind the pods', () => {
  let plane: TestControlPlane
  let nats: TestNats
  let operator: OperatorProcess
  let podAnchors: PodAnchors
  /** Another operator's fleet of one anchor, for peering. */
  let otherFleet: AnchorProcess
  const peers: MeganetPeer[] = []
  const blocks: Array<{ cid: CID, bytes: Uint8Array }> = []

  beforeAll(async () => {
    plane = await TestControlPlane.start()
    await plane.createFakeNodes(4)
    await installCrd(plane)
    await plane.createNamespace(NS)
    nats = await TestNats.start()
    operator = await OperatorProcess.start(plane.kubeconfigPath, 'op-live')
    otherFleet = await AnchorProcess.start({ flags: { 'fleet-name': 'north' } })
    podAnchors = new PodAnchors(plane, NS, FLEET, {
      'nats-servers': nats.url, 'coordination-heartbeat': '500ms', 'coordination-member-ttl': '2s', 'coordination-operator-keys': testOperatorKey().id,
      'storage-replication': '2', 'storage-write-quorum': '2', 'storage-repair-interval': '1s'
    }, { configKeys: ['peering'] })
    podAnchors.start()
  }, 300_000)

  afterAll(async () => {
    await Promise.all(peers.map(async p => await p.stop()))
    await podAnchors?.stop()
    await otherFleet?.cleanup()
    await operator?.stop('SIGKILL')
    await nats?.cleanup()
    await plane?.stop()
  })

  /**
   * {@link eventually}, and when it times out, what the fleet, the pods and the harness were doing:
   * the rare failures of this file (a replacement pod's anchor that never came) need all three,
   * and which control-plane processes had to be started again (kube-scheduler, see TestControlPlane.restarts).
   */
  async function until<T> (check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
    try {
      return await eventually(check, timeoutMs, what)
    } catch (err) {
      const pods = await plane.client(CoreV1Api).listNamespacedPod({ namespace: NS, labelSelector: `app.kubernetes.io/instance=${FLEET}` })
        .then(list => list.items.map(p => `${p.metadata?.name ?? '?'} ${p.status?.phase ?? '?'}${p.metadata?.deletionTimestamp != null ? ' deleting' : ''} uid ${p.metadata?.uid?.slice(0, 8) ?? '?'}`).join(', '))
        .catch((e: Error) => `not listed (${e.message})`)
      const phase = await fleets(plane).get(NS, FLEET).then(f => f.status?.phase ?? 'no phase').catch((e: Error) => `not read (${e.message})`)
      const restarts = plane.restarts.map(r => `${r.component} exited (${r.exit}) at ${r.at.toISOString()}: ${r.lastLogLine.slice(0, 300)}`).join('; ')
      throw new Error(`${(err as Error).message}\n  fleet ${phase}; pods: ${pods}\n  ${await notRunning()}\n  control plane restarts: ${restarts || 'none'}\n  ${podAnchors.describe()}`, { cause: err })
    }
  }

  /** Why pods are not running: their node, conditions and latest events (a replacement pod once stayed Pending). */
  async function notRunning (): Promise<string> {
    const core = plane.client(CoreV1Api)
    try {
      const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: `app.kubernetes.io/instance=${FLEET}` })).items.filter(p => p.status?.phase !== 'Running')
      const lines = await Promise.all(pods.map(async p => {
        const name = p.metadata?.name ?? '?'
        const conditions = (p.status?.conditions ?? []).map(c => `${c.type}=${c.status}${c.reason != null ? ` ${c.reason}: ${c.message ?? ''}` : ''}`).join(', ')
        const events = (await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${name}` })).items
          .slice(-3).map(e => `${e.reason ?? '?'}: ${e.message ?? ''}`).join(' | ')
        return `${name} on ${p.spec?.nodeName ?? 'no node'}; ${conditions || 'no conditions'}; events: ${events || 'none'}`
      }))
      return lines.length > 0 ? `not running: ${lines.join('; ')}` : 'every pod running'
    } catch (e) {
      return `pods not inspected (${(e as Error).message})`
    }
  }

  async function statefulSetReplicas (): Promise<number | undefined> {
    return (await plane.client(AppsV1Api).readNamespacedStatefulSet({ name: `${FLEET}-anchor`, namespace: NS })).spec?.replicas
  }

  it('reports each anchor by pod, PeerId and phase, with bootstrap addresses', async () => {
    await fleets(plane).create(NS, FLEET, { replicas: 3, nats: { url: nats.url }, storage: { size: '1Gi', replication: 2, writeQuorum: 2 } })
    const fleet = await until(async () => {
      const f = await fleets(plane).get(NS, FLEET)
      return f.status?.anchors?.length === 3 && f.status.anchors.every(a => a.phase === 'serving' && a.peerId != null) ? f : undefined
    }, 60_000, 'three serving anchors in status')
    expect(fleet.status?.bootstrap?.length).toBeGreaterThanOrEqual(3)
    expect(fleet.status?.anchors?.map(a => a.pod)).toEqual([`${FLEET}-anchor-0`, `${FLEET}-anchor-1`, `${FLEET}-anchor-2`])
  })

  it('drains the highest ordinal before removing it, and loses no block', async () => {
    const anchors = [...podAnchors.anchors.values()]
    const peer = await MeganetPeer.create({ anchors: anchors.map(a => a.tcpAddress), allowPrivateAddresses: true })
    peers.push(peer)
    await peer.start()
    for (let i = 0; i < 16; i++) {
      const bytes = randomBytes(5_000 + i)
      const cid = await cidOf(bytes, 'raw')
      await peer.blocks().put(cid, bytes, { pin: false })
      blocks.push({ cid, bytes })
    }
    const leaving = podAnchors.anchors.get(`${FLEET}-anchor-2`)!
    await fleets(plane).scale(NS, FLEET, 2)

    // While it drains, the StatefulSet keeps three replicas and the fleet says so.
    const draining = await until(async () => {
      const f = await fleets(plane).get(NS, FLEET)
      return f.status?.conditions?.find(c => c.type === 'ScalingDown' && c.status === 'True') != null ? f : undefined
    }, 20_000, 'ScalingDown condition')
    expect(draining.status?.conditions?.find(c => c.type === 'ScalingDown')?.message).toContain(`${FLEET}-anchor-2`)
    await until(async () => (await statefulSetReplicas()) === 2 ? true : undefined, 60_000, 'StatefulSet lowered after the drain')
    const events = await plane.client(CoreV1Api).listNamespacedEvent({ namespace: NS })
    expect(events.items.map(e => e.reason)).toEqual(expect.arrayContaining(['DrainingAnchor', 'ScaledDown']))
    await until(() => podAnchors.anchors.has(`${FLEET}-anchor-2`) ? undefined : true, 30_000, 'pod and anchor gone')
    await until(() => leaving.anchor.running ? undefined : true, 10_000, 'the leaving anchor stopped')

    for (const { cid, bytes } of blocks) expect(Buffer.from(await peer.blocks().get(cid)).equals(bytes)).toBe(true)
    const remaining = [...podAnchors.anchors.values()]
    await until(async () => {
      for (const anchor of remaining) {
        const { reply } = await storeRequest(peer.node, peerIdFromString(anchor.peerId), { op: 'has', cids: blocks.map(b => b.cid.toString()) })
        if (reply.has?.some(h => !h) === true) return undefined
      }
      return true
    }, 20_000, 'every block on both remaining anchors (R=2)')
  })

  it('follows load between min and max through the scale subresource', async () => {
    await fleets(plane).patch(NS, FLEET, [{
      op: 'add', path: '/spec/autoscaling', value: { enabled: true, minReplicas: 2, maxReplicas: 4, targetPeersPerAnchor: 2, cooldownSeconds: 0 }
    }])
    const anchors = [...podAnchors.anchors.values()]
    for (let i = 0; i < 6; i++) {
      const peer = await MeganetPeer.create({ anchors: [anchors[i % anchors.length]!.tcpAddress], allowPrivateAddresses: true })
      peers.push(peer)
      await peer.start()
    }
    await until(async () => ((await fleets(plane).get(NS, FLEET)).spec.replicas ?? 0) >= 3 ? true : undefined, 60_000, 'autoscaled up')
    await until(async () => ((await statefulSetReplicas()) ?? 0) >= 3 ? true : undefined, 30_000, 'StatefulSet follows')
    const events = await plane.client(CoreV1Api).listNamespacedEvent({ namespace: NS })
    expect(events.items.some(e => e.reason === 'Autoscaled')).toBe(true)
    expect(await operator.metric('meganet_operator_scale_actions_total{action="autoscale_up"}')).toBeGreaterThanOrEqual(1)
  })

  it('removes no anchor before it has drained when the API server restarts in the middle of a scale-down', { timeout: 240_000 }, async () => {
    await fleets(plane).patch(NS, FLEET, [{ op: 'replace', path: '/spec/autoscaling/enabled', value: false }])
    await fleets(plane).scale(NS, FLEET, 5)
    await until(async () => {
      const f = await fleets(plane).get(NS, FLEET)
      return f.status?.anchors?.length === 5 && f.status.anchors.every(a => a.phase === 'serving') ? true : undefined
    }, 90_000, 'five serving anchors')
    const departedBefore = podAnchors.departures.length

    await fleets(plane).scale(NS, FLEET, 3)
    // Every watch breaks and the caches re-list while the operator is deciding what 5 -> 3 means.
    await plane.restartApiServer({ downtimeMs: 1_000 })
    await until(async () => (await statefulSetReplicas()) === 3 ? true : undefined, 120_000, 'StatefulSet lowered to 3')
    await until(() => podAnchors.anchors.size === 3 ? true : undefined, 30_000, 'two anchors gone')

    const departed = podAnchors.departures.slice(departedBefore)
    expect(departed.map(d => d.pod).sort()).toEqual([`${FLEET}-anchor-3`, `${FLEET}-anchor-4`])
    expect(departed.map(d => d.phase)).toEqual(['drained', 'drained'])
    expect(await operator.metric('meganet_operator_watch_restarts_total{resource="statefulsets"}')).toBeGreaterThan(0)
    const peer = peers[0]!
    for (const { cid, bytes } of blocks) expect(Buffer.from(await peer.blocks().get(cid)).equals(bytes)).toBe(true)
  })

  it('peers with another operator\'s fleet: the anchors roll with the option, report it, and the status sums it up', { timeout: 180_000 }, async () => {
    const bootstrapUrl = otherFleet.url('/bootstrap')
    // Served by the same anchor, but pinned to a key that signed nothing: no anchor may trust it.
    const impostor = `${bootstrapUrl}?as=impostor`
    const before = new Map([...podAnchors.anchors].map(([pod, anchor]) => [pod, anchor.peerId]))
    await fleets(plane).patch(NS, FLEET, [{ op: 'add', path: '/spec/peering', value: [{ bootstrapUrl, pins: [otherFleet.peerId] }, { bootstrapUrl: impostor, pins: [STRANGER] }] }])
    const peered = await until(async () => {
      const f = await fleets(plane).get(NS, FLEET)
      const entry = f.status?.peering?.find(p => p.bootstrapUrl === bootstrapUrl)
      const condition = f.status?.conditions?.find(c => c.type === 'Peered')
      return entry?.verified === true && entry.anchorsConnected === 3 && condition?.reason === 'PeeredListUnverified' ? f : undefined
    }, 150_000, 'every anchor connected into the peered fleet, and the impostor\'s list refused')
    // Each pod was replaced (the config hash rolled the StatefulSet) and its anchor started with the option from the ConfigMap.
    expect([...podAnchors.anchors].every(([pod, anchor]) => before.get(pod) !== anchor.peerId)).toBe(true)
    for (const anchor of podAnchors.anchors.values()) {
      const status = await anchor.json<{ peering: Array<{ bootstrapUrl: string }> }>('/status')
      expect(status.peering.map(p => p.bootstrapUrl)).toEqual([bootstrapUrl, impostor])
    }
    expect(peered.status?.peering).toEqual([
      { bootstrapUrl, verified: true, anchorsConnected: 3, peeredAnchors: 1 },
      { bootstrapUrl: impostor, verified: false, anchorsConnected: 0, lastError: expect.stringContaining('is not a trusted anchor') as unknown }
    ])
    const condition = peered.status?.conditions?.find(c => c.type === 'Peered')
    expect(condition?.status).toBe('False')
    expect(condition?.message).toContain(`no anchor could verify the bootstrap list of ${impostor}`)
    expect(peered.status?.phase).toBe('Ready')

    // Only the good fleet left: the condition turns True; no peering at all: entries and condition go.
    await fleets(plane).patch(NS, FLEET, [{ op: 'replace', path: '/spec/peering', value: [{ bootstrapUrl, pins: [otherFleet.peerId] }] }])
    await until(async () => {
      const f = await fleets(plane).get(NS, FLEET)
      return f.status?.conditions?.find(c => c.type === 'Peered')?.status === 'True' && f.status.peering?.length === 1 ? true : undefined
    }, 60_000, 'Peered True with the impostor gone')
    await fleets(plane).patch(NS, FLEET, [{ op: 'remove', path: '/spec/peering' }])
    await until(async () => {
      const f = await fleets(plane).get(NS, FLEET)
      return f.status?.peering == null && f.status?.conditions?.every(c => c.type !== 'Peered') === true ? true : undefined
    }, 30_000, 'peering gone from the status')
  })

  it('stopped every departed pod\'s anchor within its grace period, and every sync of the harness ran', () => {
    // A pod's anchor that ignores SIGTERM is a shutdown bug; the harness kills it only so later pods still get anchors.
    expect(podAnchors.killedAfterGrace).toEqual([])
    expect(podAnchors.syncErrors).toEqual([])
  })
})
