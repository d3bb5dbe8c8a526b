import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node'
import { ping } from '@libp2p/ping'
import { webRTCDirect } from '@libp2p/webrtc'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NATS_IDENTITY_ANNOTATION } from '@meganet/contracts'
import { TestControlPlane } from '../cluster/control-plane.js'
import { KubeletNode, NODE_STORAGE_CLASS, kubeletNodeUnavailable } from '../cluster/kubelet-node.js'
import { eventually } from '../helpers/anchor-process.js'
import { fleets } from '../operator/kube-fixtures.js'
import { CHART_DIR, Helm } from './helm.js'
import type { FleetObject } from '../operator/kube-fixtures.js'
import type { ChildProcess } from 'node:child_process'

/**
 * `helm install meganet` on a real kubelet node (test/cluster/kubelet-node.ts): NATS from the
 * official chart, the operator (2 replicas) and the default fleet run as real pods from the
 * images test/images/build-images.sh built. A peer on the host joins through the NodePort
 * addresses of the fleet's status bootstrap list, as a phone outside the cluster would.
 */
const NS = 'meganet'
const CLI = join(process.cwd(), 'node-image', 'dist', 'cli', 'main.js')
const READY_TIMEOUT_MS = 600_000

function cli (args: string[]): { child: ChildProcess, output: () => string, exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  return { child, output: () => out, exited }
}

async function done (run: ReturnType<typeof cli>, what: string): Promise<string> {
  const code = await run.exited
  if (code !== 0) throw new Error(`${what} exited ${code}: ${run.output()}`)
  return run.output()
}

/** How many anchors (PeerIds) the addresses that pass `test` belong to. */
const anchorsIn = (addresses: readonly string[], test: (address: string) => boolean): number =>
  new Set(addresses.filter(test).map(a => a.split('/p2p/')[1])).size

/**
 * Ready as a peer outside needs it: every anchor in the bootstrap list with its NodePort TCP
 * address (an anchor learns it from the operator's announce file, up to a minute after it
 * starts) and one browser address per anchor.
 */
const ready = (fleet: FleetObject, replicas: number): boolean =>
  fleet.status?.phase === 'Ready' && fleet.status.readyReplicas === replicas && fleet.status.observedGeneration === fleet.metadata.generation &&
  anchorsIn(fleet.status.bootstrap ?? [], a => a.includes('/tcp/3') && !a.includes('/ws')) >= replicas && (fleet.status.browserAddresses?.length ?? 0) >= replicas

const why = await kubeletNodeUnavailable()

describe.skipIf(why != null)('helm install meganet on a real kubelet node', () => {
  let plane: TestControlPlane
  let node: KubeletNode
  let helm: Helm
  let dir: string
  let link = ''
  let original = ''
  const kube = (): string[] => ['--kubeconfig', plane.kubeconfigPath, '--namespace', NS]
  const values = (): string[] => [
    '--set', 'defaultFleet.exposure.type=NodePort',
    '--set', `defaultFleet.storage.storageClassName=${NODE_STORAGE_CLASS}`, '--set', 'defaultFleet.storage.size=1Gi',
    // The node's addresses are private (10.251.x.x): keep them in the anchors' DHT records.
    '--set', 'defaultFleet.extraEnv[0].name=MEGANET_DHT_ALLOW_PRIVATE_ADDRESSES', '--set-string', 'defaultFleet.extraEnv[0].value=true',
    '--set', `nats.config.jetstream.fileStore.pvc.storageClassName=${NODE_STORAGE_CLASS}`, '--set', 'nats.config.jetstream.fileStore.pvc.size=1Gi'
  ]
  const api = (): ReturnType<typeof fleets> => fleets(plane)

  beforeAll(async () => {
    plane = await TestControlPlane.start()
    ;[node, helm] = await Promise.all([KubeletNode.start(plane), Helm.create()])
    dir = await mkdtemp(join(tmpdir(), 'meganet-real-node-'))
    await plane.createNamespace(NS, { 'pod-security.kubernetes.io/enforce': 'restricted' })
  }, 600_000)

  afterAll(async () => {
    if (process.env.MEGANET_KEEP_CLUSTER !== '1') {
      await node?.stop()
      await plane?.stop()
    }
    await helm?.cleanup()
    if (dir != null) await rm(dir, { recursive: true, force: true })
  }, 120_000)

  it('installs: NATS, two operators and the default fleet run as real pods, and the fleet turns Ready', { timeout: READY_TIMEOUT_MS + 60_000 }, async () => {
    const began = performance.now()
    const out = await helm.run(['install', 'mn', CHART_DIR, ...kube(), ...values()])
    expect(out).toContain('STATUS: deployed')
    const fleet = await eventually(async () => {
      const f = await api().get(NS, 'meganet').catch(() => undefined)
      return f != null && ready(f, 3) ? f : undefined
    }, READY_TIMEOUT_MS, 'the default fleet Ready on the real node')
    const seconds = (performance.now() - began) / 1000
    console.log(`helm install -> fleet Ready on the real node: ${seconds.toFixed(1)} s`)
    await writeFile(join(process.cwd(), 'bench-results', 'real-node-install.json'), JSON.stringify({ installToReadySeconds: seconds, at: new Date().toISOString() })).catch(() => {})

    const pods = (await plane.client(CoreV1Api).listNamespacedPod({ namespace: NS })).items
    const running = (name: string): number => pods.filter(p => p.metadata?.labels?.['app.kubernetes.io/name'] === name && p.status?.phase === 'Running').length
    expect(running('nats')).toBe(3)
    expect(running('meganet-operator')).toBe(2)
    expect(running('meganet-anchor')).toBe(3)
    expect(pods.every(p => p.spec?.nodeName === node.name)).toBe(true)
    // Real processes in containerd on this node.
    expect((await node.ctr(['containers', 'list', '-q'])).split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(3 * 3 + 2 + 3)
    // The bootstrap list holds the node's address and each anchor's nodePorts, not pod IPs: TCP,
    // WebSocket, and WebRTC-direct on a UDP nodePort with the certhash of the listener it leads to.
    const nodeIp = node.ip.replace(/\./g, '\\.')
    for (const address of fleet.status?.bootstrap ?? []) {
      expect(address).toMatch(new RegExp(`^/ip4/${nodeIp}/(tcp/3\\d{4}(/ws)?|udp/3\\d{4}/webrtc-direct/certhash/u[\\w-]+)/p2p/12D3KooW`))
    }
    // What browsers dial: one serving WebRTC-direct certificate per anchor.
    const browser = fleet.status?.browserAddresses ?? []
    expect(browser).toHaveLength(3)
    for (const address of browser) expect(address).toMatch(new RegExp(`^/ip4/${nodeIp}/udp/3\\d{4}/webrtc-direct/certhash/`))
  })

  it('locks NATS down: TLS, the operator wrote its auth config, anchors are admitted, anyone else on the network is refused', async () => {
    const core = plane.client(CoreV1Api)
    const auth = (await core.readNamespacedConfigMap({ name: 'mn-nats-auth', namespace: NS })).data?.['auth.conf'] ?? ''
    expect(auth).toContain('auth_callout')
    // A user seed is SU and 56 more base32 characters on its own: a public key (U…, 56 in all) can
    // hold "SU" inside it, which the looser /SU[A-Z2-7]{50,}/ took for a seed (CI failed on one).
    expect(auth).not.toMatch(/(?<![A-Z2-7])SU[A-Z2-7]{56}(?![A-Z2-7])|PRIVATE KEY/)
    // Each anchor pod records the one key it logged in with, so a new operator leader holds it to that key too.
    const anchors = (await api().get(NS, 'meganet')).status?.anchors ?? []
    expect(anchors).toHaveLength(3)
    for (const anchor of anchors) {
      const pod = await core.readNamespacedPod({ name: anchor.pod, namespace: NS })
      expect(pod.metadata?.annotations?.[NATS_IDENTITY_ANNOTATION], anchor.pod).toBe(anchor.peerId)
    }
    // The fleet turned Ready from its members' records: anchors wrote them and the operator read them, both logged in.
    const service = await core.readNamespacedService({ name: 'mn-nats', namespace: NS })
    const url = `nats://${service.spec?.clusterIP ?? ''}:4222`
    // Clients must speak TLS, verified against the chart's CA, under the Service's name.
    const caFile = join(dir, 'nats-ca.crt')
    await writeFile(caFile, (await core.readNamespacedConfigMap({ name: 'mn-nats-ca', namespace: NS })).data?.['ca.crt'] ?? '')
    const tls = { caFile, servername: `mn-nats.${NS}.svc.cluster.local` }
    // From the node, outside every pod: without TLS, then over TLS with no credentials and with a fresh identity key (what anyone can mint).
    const script = `
      import { randomBytes } from 'node:crypto'
      import { connect } from '@nats-io/transport-node'
      import { nkeyAuthenticator } from '@nats-io/nats-core'
      import { natsUserSeed } from '@meganet/fleet-client'
      const tls = ${JSON.stringify(tls)}
      const tries = { plaintext: {}, anonymous: { tls }, minted: { tls, authenticator: nkeyAuthenticator(new TextEncoder().encode(natsUserSeed(randomBytes(32)))) } }
      for (const [name, options] of Object.entries(tries)) {
        try { await (await connect({ servers: ${JSON.stringify(url)}, maxReconnectAttempts: 0, timeout: 10000, ...options })).close(); console.log(name + ': connected') }
        catch (err) { console.log(name + ': ' + err.message) }
      }`
    const out = await node.run(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd() })
    expect(out).not.toMatch(/: connected/)
    expect(out).toMatch(/anonymous: .*Authorization Violation/i)
    expect(out).toMatch(/minted: .*Authorization Violation/i)
  })

  it('reaches each anchor over WebRTC-direct through its UDP nodePort and kube-proxy, as a browser would', async () => {
    const browser = (await api().get(NS, 'meganet')).status?.browserAddresses ?? []
    expect(browser).toHaveLength(3)
    const dialler = await createLibp2p({
      transports: [webRTCDirect()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { ping: ping() },
      connectionGater: { denyDialMultiaddr: () => false } // the node's address is a private one
    })
    try {
      for (const address of browser) expect(await dialler.services.ping.ping(multiaddr(address), { signal: AbortSignal.timeout(20_000) })).toBeGreaterThanOrEqual(0)
    } finally {
      await dialler.stop()
    }
  })

  it('lets a peer on the host join through the status bootstrap list, message another peer, and put and get a file', { timeout: 180_000 }, async () => {
    const bootstrap = ((await api().get(NS, 'meganet')).status?.bootstrap ?? []).filter(a => a.includes('/tcp/') && !a.includes('/ws/'))
    expect(bootstrap.length).toBeGreaterThanOrEqual(3)
    const listener = cli(['peer', 'listen', '--anchor', bootstrap[0] ?? '', '--allow-private-addresses'])
    try {
      const peerId = await eventually(() => /^peer (\S+)$/m.exec(listener.output())?.[1], 60_000, 'listener PeerId')
      const sent = await done(cli(['peer', 'send', peerId, 'hello', 'from', 'outside', '--anchor', bootstrap[1] ?? '', '--allow-private-addresses']), 'peer send')
      expect(sent).toContain(`delivered to ${peerId}`)
      await eventually(() => listener.output().includes('hello from outside') ? true : undefined, 20_000, 'message printed')
    } finally {
      listener.child.kill('SIGINT')
      await listener.exited
    }
    original = randomBytes(300_000).toString('base64')
    await writeFile(join(dir, 'in.txt'), original)
    const put = await done(cli(['peer', 'put', join(dir, 'in.txt'), '--anchor', bootstrap[2] ?? '', '--allow-private-addresses']), 'peer put')
    link = /meganet:\/\/\S+/.exec(put)?.[0] ?? ''
    expect(link).not.toBe('')
    await done(cli(['peer', 'get', link, join(dir, 'out.txt'), '--anchor', bootstrap[0] ?? '', '--allow-private-addresses']), 'peer get')
    expect(await readFile(join(dir, 'out.txt'), 'utf8')).toBe(original)
  })

  const getFile = async (name: string): Promise<void> => {
    const bootstrap = ((await api().get(NS, 'meganet')).status?.bootstrap ?? []).filter(a => a.includes('/tcp/') && !a.includes('/ws/'))
    await done(cli(['peer', 'get', link, join(dir, name), '--anchor', bootstrap[0] ?? '', '--allow-private-addresses']), 'peer get')
    expect(await readFile(join(dir, name), 'utf8')).toBe(original)
  }

  /** The anchor's own /status, read from inside the node (its HTTP port is not exposed). */
  const anchorStatus = async (pod: string): Promise<{ peerId: string, storage: { blocks: number, storedBytes: number } }> => {
    const ip = (await plane.client(CoreV1Api).readNamespacedPod({ name: pod, namespace: NS })).status?.podIP
    return JSON.parse(await node.network.exec('curl', ['-fsS', '-m', '5', `http://${ip ?? ''}:9464/status`])) as { peerId: string, storage: { blocks: number, storedBytes: number } }
  }

  it('brings a deleted anchor pod back with the same PeerId and its blocks', { timeout: 300_000 }, async () => {
    // The put was acknowledged at the write quorum; repair brings the third copy: wait until anchor-0 holds it.
    const before = await eventually(async () => {
      const status = await anchorStatus('meganet-anchor-0')
      return status.storage.blocks > 0 ? status : undefined
    }, 120_000, 'anchor-0 holding blocks of the file')
    const core = plane.client(CoreV1Api)
    const uid = (await core.readNamespacedPod({ name: 'meganet-anchor-0', namespace: NS })).metadata?.uid
    await core.deleteNamespacedPod({ name: 'meganet-anchor-0', namespace: NS })
    await eventually(async () => {
      const pod = await core.readNamespacedPod({ name: 'meganet-anchor-0', namespace: NS }).catch(() => undefined)
      const fleet = await api().get(NS, 'meganet')
      return pod?.metadata?.uid !== uid && pod?.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True') === true && ready(fleet, 3) ? true : undefined
    }, 240_000, 'anchor-0 back and Ready')
    const after = await anchorStatus('meganet-anchor-0')
    expect(after.peerId).toBe(before.peerId)
    expect(after.storage.blocks).toBeGreaterThanOrEqual(before.storage.blocks)
    expect(after.storage.storedBytes).toBeGreaterThanOrEqual(before.storage.storedBytes)
    expect((await api().get(NS, 'meganet')).status?.anchors?.find(a => a.pod === 'meganet-anchor-0')?.peerId).toBe(before.peerId)
    await getFile('after-delete.txt')
  })

  it('drains before it scales 3 -> 2', { timeout: 300_000 }, async () => {
    await api().scale(NS, 'meganet', 2)
    const apps = plane.client(AppsV1Api)
    // While the last anchor drains, the StatefulSet keeps 3 replicas and the fleet says why.
    await eventually(async () => {
      const fleet = await api().get(NS, 'meganet')
      const sts = await apps.readNamespacedStatefulSet({ name: 'meganet-anchor', namespace: NS })
      const draining = fleet.status?.conditions?.find(c => c.type === 'ScalingDown')?.status === 'True'
      if (draining) expect(sts.spec?.replicas).toBe(3)
      return draining ? true : undefined
    }, 60_000, 'ScalingDown while the StatefulSet still has 3 replicas')
    await eventually(async () => ready(await api().get(NS, 'meganet'), 2) ? true : undefined, 240_000, 'the fleet Ready with 2 anchors')
    expect((await apps.readNamespacedStatefulSet({ name: 'meganet-anchor', namespace: NS })).spec?.replicas).toBe(2)
    const events = await plane.client(CoreV1Api).listNamespacedEvent({ namespace: NS, fieldSelector: 'involvedObject.name=meganet' })
    expect(events.items.some(e => e.reason === 'DrainingAnchor')).toBe(true)
    await getFile('after-scale.txt')
  })

  it('rolls anchors one at a time when helm upgrade changes the relay limits, and loses no file', { timeout: 660_000 }, async () => {
    const core = plane.client(CoreV1Api)
    const uids = async (): Promise<Map<string, string>> => new Map((await core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/name=meganet-anchor' })).items
      .map(p => [p.metadata?.name ?? '', p.metadata?.uid ?? '']))
    const start = await uids()
    // The operator pods mount the chart's default-fleet ConfigMap; the kubelet updates it in
    // place and the leader applies the new values to the fleet (its size stays 2, as scaled).
    const out = await helm.run(['upgrade', 'mn', CHART_DIR, ...kube(), ...values(), '--set', 'defaultFleet.relay.maxReservationsPerIp=16'])
    expect(out).toContain('STATUS: deployed')
    const upgraded = await eventually(async () => {
      const fleet = await api().get(NS, 'meganet')
      return (fleet.spec.relay as { maxReservationsPerIp?: number } | undefined)?.maxReservationsPerIp === 16 ? fleet : undefined
    }, 180_000, 'the new relay limit in the fleet (kubelet sync of the ConfigMap, then the operator)')
    expect(upgraded.spec.replicas).toBe(2)
    let mostDown = 0
    await eventually(async () => {
      const now = await uids()
      const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/name=meganet-anchor' })).items
      const notReady = pods.filter(p => p.status?.conditions?.find(c => c.type === 'Ready')?.status !== 'True').length + Math.max(0, 2 - pods.length)
      mostDown = Math.max(mostDown, notReady)
      const replaced = [...start.keys()].every(name => now.get(name) != null && now.get(name) !== start.get(name))
      return replaced && ready(await api().get(NS, 'meganet'), 2) ? true : undefined
    }, 420_000, 'every anchor replaced and the fleet Ready')
    expect(mostDown).toBeLessThanOrEqual(1)
    const config = await core.readNamespacedConfigMap({ name: 'meganet-anchor-config', namespace: NS })
    expect(JSON.parse(config.data?.['anchor.json'] ?? '{}')).toMatchObject({ relay: { maxReservationsPerIp: 16 } })
    await getFile('after-roll.txt')
  })

  it('uninstalls', { timeout: 180_000 }, async () => {
    const out = await helm.run(['uninstall', 'mn', ...kube(), '--wait'])
    expect(out).toContain('uninstalled')
    await eventually(async () => {
      const pods = (await plane.client(CoreV1Api).listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/instance=mn' })).items
      return pods.length === 0 ? true : undefined
    }, 120_000, 'the operator and NATS pods gone')
  })
})

describe.runIf(why != null)('helm install meganet on a real kubelet node (cannot run here)', () => {
  it.skip(`needs a real node, which cannot run here: ${why ?? ''}`, () => {})
})
