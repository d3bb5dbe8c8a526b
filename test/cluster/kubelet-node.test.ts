import { CoreV1Api } from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestControlPlane } from './control-plane.js'
import { KubeletNode, NODE_STORAGE_CLASS, findNodeArtifacts, kubeletNodeUnavailable } from './kubelet-node.js'
import { get, waitFor } from './probe.js'

const why = await kubeletNodeUnavailable()
const NS = 'smoke'

/**
 * The real node by itself: a pod of the project image runs a real process on a `local` volume,
 * reaches the API server through the `kubernetes` Service and resolves names through the node's
 * CoreDNS, and the host reaches it through a NodePort on the node's address.
 */
describe.skipIf(why != null)('a real kubelet node joined to the test control plane', () => {
  let plane: TestControlPlane
  let node: KubeletNode
  let image: string

  beforeAll(async () => {
    plane = await TestControlPlane.start()
    const artifacts = await findNodeArtifacts()
    image = artifacts.appImage
    node = await KubeletNode.start(plane, { artifacts })
    await plane.createNamespace(NS)
  }, 600_000)

  afterAll(async () => {
    if (process.env.MEGANET_KEEP_CLUSTER === '1') {
      console.log(`MEGANET_KEEP_CLUSTER=1: node ${node?.name} left running (netns ${node?.network.name}, dir ${node?.dir})`)
      return
    }
    await node?.stop()
    await plane?.stop()
  }, 120_000)

  it('runs a pod with a volume, cluster DNS and API access, reachable through a NodePort', { timeout: 300_000 }, async () => {
    const core = plane.client(CoreV1Api)
    await core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: NODE_STORAGE_CLASS, resources: { requests: { storage: '1Gi' } } } }
    })
    const script = `
      const fs = require('node:fs'); const dns = require('node:dns/promises'); const http = require('node:http')
      fs.writeFileSync('/data/proof', 'written')
      http.createServer(async (req, res) => {
        const api = await dns.lookup('kubernetes.default.svc.cluster.local').then(a => a.address, e => e.code)
        const tls = await fetch('https://kubernetes.default.svc/healthz').then(r => String(r.status), e => e.cause?.code ?? e.message)
        res.end(JSON.stringify({ proof: fs.readFileSync('/data/proof', 'utf8'), api, tls, uid: process.getuid() }))
      }).listen(8080)`
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: {
          securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, runAsNonRoot: true },
          containers: [{ name: 'web', image, imagePullPolicy: 'Never', command: ['node', '-e', script], ports: [{ containerPort: 8080 }], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }]
        }
      }
    })
    const service = await core.createNamespacedService({
      namespace: NS, body: { metadata: { name: 'web' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } }
    })
    const nodePort = service.spec?.ports?.[0]?.nodePort
    await waitFor('pod web Running', async () => {
      const pod = await core.readNamespacedPod({ name: 'web', namespace: NS })
      return pod.status?.phase === 'Running' ? true : undefined
    }, 240_000).catch(async err => { throw new Error(`${(err as Error).message}\nkubelet:\n${await node.logTail('kubelet', 30)}`) })
    const answer = await waitFor('the pod through its NodePort', async () => {
      const res = await get(`http://${node.ip}:${nodePort}/`).catch(() => undefined)
      return res?.status === 200 ? JSON.parse(res.body) as Record<string, unknown> : undefined
    }, 60_000)
    // The kubernetes Service answers over TLS, but the pod does not trust the test CA: a certificate error proves the path.
    expect(answer).toMatchObject({ proof: 'written', api: '10.0.0.1', uid: 1000 })
    expect(String(answer.tls)).toMatch(/^(401|403|200|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT)$/)
  })
})

describe.runIf(why != null)('a real kubelet node (cannot run here)', () => {
  it.skip(`needs root, containerd, runc and the CNI plugins: ${why ?? ''}`, () => {})
})
