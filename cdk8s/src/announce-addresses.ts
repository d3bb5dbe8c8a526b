import { isIP } from 'node:net'
import { ANCHOR_FLEET } from '@meganet/contracts'
import { peerPorts } from './anchor-config.js'
import { ANCHOR_APP, standardLabels } from './labels.js'
import type { KubeObject } from './desired-objects.js'
import type { AnchorFleet, AnchorFleetSpec } from '@meganet/contracts'

/**
 * Announce addresses: where peers outside the cluster reach each anchor, for every exposure
 * type. The operator reads the cluster (the anchor's pod, its node and its Service), this module
 * turns that into multiaddrs, and the anchors read them from a ConfigMap with one key per pod
 * (`MEGANET_ANNOUNCE_FILE`), so their identify records, relay reservations and the fleet's
 * bootstrap list carry addresses a phone can dial instead of pod IPs.
 *
 * | exposure | address | port |
 * | --- | --- | --- |
 * | LoadBalancer | each ingress IP or hostname of the anchor's Service | the Service port |
 * | NodePort | the node the pod runs on (externalTrafficPolicy: Local) | the Service's nodePort |
 * | HostPort | the node the pod runs on | the container port (= host port) |
 * | ClusterIP | none: anchors announce their listen addresses (in-cluster use) | |
 *
 * Every peer port is announced: TCP, WebSocket (and /tls/ws with a WSS Secret), and the two
 * WebRTC-direct UDP ports, to which each anchor adds its certhash.
 */

/** What the operator saw of one anchor. */
export interface AnchorPlacement {
  readonly pod: string
  /** spec.nodeName, once scheduled. */
  readonly nodeName?: string
  /** The node's status.addresses. */
  readonly nodeAddresses?: ReadonlyArray<{ readonly type: string, readonly address: string }>
  /** The anchor's own Service: nodePort per port name, and its load balancer's ingress. */
  readonly service?: {
    readonly nodePorts: Readonly<Record<string, number>>
    readonly ingress: ReadonlyArray<{ readonly ip?: string, readonly hostname?: string }>
  }
}

/** One pod's entry in the announce ConfigMap, as the anchor reads it. */
export interface AnnounceEntry {
  /** The node the addresses hold for (NodePort, HostPort); a pod elsewhere waits for a fresh entry. */
  readonly node?: string
  readonly addresses: readonly string[]
  /**
   * Announced UDP port → the anchor's own port, where they differ (NodePort): the anchor adds
   * the certhash of the WebRTC-direct listener on its own port to the address with the announced one.
   */
  readonly udpPorts?: Readonly<Record<string, number>>
}

/** The multiaddr prefix of a host: `/ip4/…`, `/ip6/…` or `/dns/…`. */
export function hostMultiaddr (host: string): string {
  const family = isIP(host)
  return family === 4 ? `/ip4/${host}` : family === 6 ? `/ip6/${host}` : `/dns/${host}`
}

function nodeAddress (placement: AnchorPlacement, types: readonly string[]): string | undefined {
  for (const type of types) {
    const found = placement.nodeAddresses?.find(a => a.type === type && a.address !== '')
    if (found != null) return found.address
  }
  return undefined
}

/**
 * The announce entry of one anchor, or undefined while it cannot be known yet (pod not
 * scheduled, node without a matching address, no nodePort or load balancer ingress yet) or
 * when the exposure needs none (ClusterIP).
 */
export function announceEntry (spec: Pick<AnchorFleetSpec, 'exposure' | 'browser'>, placement: AnchorPlacement): AnnounceEntry | undefined {
  const { exposure } = spec
  const ports = peerPorts(spec)
  switch (exposure.type) {
    case 'ClusterIP':
      return undefined
    case 'LoadBalancer': {
      const hosts = (placement.service?.ingress ?? []).map(i => i.ip ?? i.hostname).filter((h): h is string => h != null && h !== '')
      if (hosts.length === 0) return undefined
      return { addresses: hosts.flatMap(host => ports.flatMap(p => p.multiaddrs(hostMultiaddr(host), p.port))) }
    }
    case 'NodePort': {
      const host = nodeAddress(placement, exposure.nodeAddressTypes)
      const nodePorts = placement.service?.nodePorts ?? {}
      if (host == null || placement.nodeName == null || ports.some(p => nodePorts[p.name] == null)) return undefined
      const udp = ports.filter(p => p.protocol === 'UDP' && nodePorts[p.name] !== p.port)
      return {
        node: placement.nodeName,
        addresses: ports.flatMap(p => p.multiaddrs(hostMultiaddr(host), nodePorts[p.name] ?? 0)),
        ...(udp.length > 0 ? { udpPorts: Object.fromEntries(udp.map(p => [String(nodePorts[p.name]), p.port])) } : {})
      }
    }
    case 'HostPort': {
      const host = nodeAddress(placement, exposure.nodeAddressTypes)
      if (host == null || placement.nodeName == null) return undefined
      return { node: placement.nodeName, addresses: ports.flatMap(p => p.multiaddrs(hostMultiaddr(host), p.port)) }
    }
  }
}

/** Name of a fleet's announce ConfigMap. */
export function announceConfigMapName (fleet: string): string {
  return `${fleet}-anchor-announce`
}

/** The announce ConfigMap: one key per pod whose addresses are known, owned by the fleet. */
export function announceConfigMap (fleet: AnchorFleet, entries: Readonly<Record<string, AnnounceEntry>>, version?: string): KubeObject {
  const name = fleet.metadata.name
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: announceConfigMapName(name),
      namespace: fleet.metadata.namespace,
      labels: standardLabels(ANCHOR_APP, name, 'anchor', version),
      ...(fleet.metadata.uid != null
        ? { ownerReferences: [{ apiVersion: ANCHOR_FLEET.apiVersion, kind: ANCHOR_FLEET.kind, name, uid: fleet.metadata.uid, controller: true, blockOwnerDeletion: true }] }
        : {})
    },
    data: Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b)).map(([pod, entry]) => [pod, JSON.stringify(entry)]))
  }
}
