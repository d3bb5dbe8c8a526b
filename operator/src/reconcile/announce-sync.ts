import { createHash } from 'node:crypto'
import { announceConfigMap, announceEntry, fleetNames, selectorLabels, ANCHOR_APP } from '@meganet/cdk8s'
import type { Kube } from '../kube/kube-client.js'
import type { AnchorPlacement, AnnounceEntry } from '@meganet/cdk8s'
import type { AnchorFleet } from '@meganet/contracts'
import type { V1Node, V1Pod } from '@kubernetes/client-node'

export interface AnnounceSyncInit {
  readonly kube: Kube
  readonly version: string
}

/**
 * Keeps each fleet's announce ConfigMap (cdk8s/src/announce-addresses.ts) in step with where
 * its anchors are reachable from outside: the pod's node and its addresses, the anchor
 * Service's nodePorts and load balancer ingress. Reads Services and Nodes only for fleets that
 * are exposed outside the cluster, and applies only when an entry changed.
 */
export class AnnounceSync {
  private readonly init: AnnounceSyncInit
  private readonly written = new Map<string, string>()

  constructor (init: AnnounceSyncInit) {
    this.init = init
  }

  forget (key: string): void {
    this.written.delete(key)
  }

  /** The entries now known, by pod; applied to the fleet's ConfigMap when they changed. */
  async sync (fleet: AnchorFleet, pods: readonly V1Pod[]): Promise<Record<string, AnnounceEntry>> {
    const key = `${fleet.metadata.namespace}/${fleet.metadata.name}`
    if (fleet.spec.exposure.type === 'ClusterIP') {
      this.written.delete(key)
      return {}
    }
    const { kube } = this.init
    const names = fleetNames(fleet.metadata.name)
    const selector = Object.entries(selectorLabels(ANCHOR_APP, fleet.metadata.name)).map(([k, v]) => `${k}=${v}`).join(',')
    const services = fleet.spec.exposure.type === 'HostPort'
      ? []
      : (await kube.call('list', async () => await kube.core.listNamespacedService({ namespace: fleet.metadata.namespace, labelSelector: selector }))).items
    const nodes = new Map<string, V1Node | undefined>()
    if (fleet.spec.exposure.type !== 'LoadBalancer') {
      for (const nodeName of new Set(pods.map(p => p.spec?.nodeName).filter((n): n is string => n != null))) {
        nodes.set(nodeName, await kube.call('get', async () => await kube.core.readNode({ name: nodeName })).catch(() => undefined))
      }
    }
    const entries: Record<string, AnnounceEntry> = {}
    for (const pod of pods) {
      const podName = pod.metadata?.name
      const ordinal = Number(/-(\d+)$/.exec(podName ?? '')?.[1])
      if (podName == null || !Number.isInteger(ordinal)) continue
      const service = services.find(s => s.metadata?.name === names.anchorService(ordinal))
      const nodeName = pod.spec?.nodeName
      const node = nodeName != null ? nodes.get(nodeName) : undefined
      const placement: AnchorPlacement = {
        pod: podName,
        ...(nodeName != null ? { nodeName } : {}),
        ...(node?.status?.addresses != null ? { nodeAddresses: node.status.addresses } : {}),
        ...(service != null
          ? {
              service: {
                nodePorts: Object.fromEntries((service.spec?.ports ?? []).filter(p => p.name != null && p.nodePort != null).map(p => [p.name ?? '', p.nodePort ?? 0])),
                ingress: service.status?.loadBalancer?.ingress ?? []
              }
            }
          : {})
      }
      const entry = announceEntry(fleet.spec, placement)
      if (entry != null) entries[podName] = entry
    }
    const object = announceConfigMap(fleet, entries, this.init.version)
    const hash = createHash('sha256').update(JSON.stringify(object)).digest('hex')
    if (this.written.get(key) !== hash) {
      await kube.apply(object)
      this.written.set(key, hash)
    }
    return entries
  }
}
