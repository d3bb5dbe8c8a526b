/**
 * The `AnchorFleet` custom resource (meganet.io/v1alpha1), defined once: the zod schemas give
 * the TypeScript types, the operator's validation and, through `structuralSchema`, the CRD's
 * OpenAPI schema (with defaults and CEL rules) that the chart ships.
 */
import { z } from 'zod'
import { ANCHOR_ROLES } from './roles.js'
import { ED25519_PEER_ID_PATTERN, MEMBER_PHASES, scopeName } from './coordination.js'
import { MAX_PEERED_FLEETS, MAX_PEERING_PINS, MAX_PEERING_URL_LENGTH } from './bootstrap-list.js'
import { celRules, embeddedObject, listMap } from './openapi.js'

export const ANCHOR_FLEET = {
  group: 'meganet.io',
  version: 'v1alpha1',
  kind: 'AnchorFleet',
  plural: 'anchorfleets',
  singular: 'anchorfleet',
  shortNames: ['af', 'fleet'],
  apiVersion: 'meganet.io/v1alpha1'
} as const

/** A Kubernetes quantity such as `500m`, `2`, `512Mi` or `10Gi`. */
const quantity = z.string().regex(/^\d+(\.\d+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/, { message: 'must be a Kubernetes quantity such as 500m, 512Mi or 10Gi' })
const durationText = z.string().regex(/^(\d+(ms|s|m|h))+$|^unlimited$/, { message: 'must be a duration such as 30s, 2m or 1h, or unlimited' })
const sizeText = z.string().regex(/^\d+(KiB|MiB|GiB|TiB|KB|MB|GB|B)?$|^unlimited$/, { message: 'must be a size such as 64MiB, or unlimited' })

export const EXPOSURE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'HostPort'] as const
/** Node address types, in the order the operator prefers them for NodePort and HostPort announce addresses. */
export const NODE_ADDRESS_TYPES = ['ExternalIP', 'InternalIP', 'ExternalDNS', 'InternalDNS', 'Hostname'] as const

export const resourcesSchema = z.object({
  requests: z.record(z.string(), quantity).optional(),
  limits: z.record(z.string(), quantity).optional()
})

/**
 * What an anchor gets unless the fleet says otherwise: 1 GiB holds 10,000 reserved peers
 * (docs/BENCHMARKS.md), and the memory limit is what sizes the V8 heap.
 */
export const DEFAULT_ANCHOR_RESOURCES = { requests: { cpu: '250m', memory: '1Gi' }, limits: { memory: '1Gi' } } as const

const labelMap = z.record(z.string(), z.string())

export const tolerationSchema = z.object({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional()
})

/** A pod topology spread constraint; without a labelSelector it selects the fleet's own anchors. */
export const topologySpreadSchema = z.object({
  maxSkew: z.number().int().min(1),
  topologyKey: z.string().min(1),
  whenUnsatisfiable: z.enum(['DoNotSchedule', 'ScheduleAnyway']),
  labelSelector: embeddedObject().optional(),
  minDomains: z.number().int().min(1).optional(),
  matchLabelKeys: z.array(z.string()).optional(),
  nodeAffinityPolicy: z.enum(['Honor', 'Ignore']).optional(),
  nodeTaintsPolicy: z.enum(['Honor', 'Ignore']).optional()
})

/** The default spread: anchors of one fleet across zones, then across nodes, as far as the cluster allows. */
export const DEFAULT_TOPOLOGY_SPREAD = [
  { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' },
  { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }
] as const

const envVarSchema = z.object({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: embeddedObject().optional()
})

export const autoscalingSchema = celRules(z.object({
  enabled: z.boolean().default(false),
  minReplicas: z.number().int().min(1).default(3),
  maxReplicas: z.number().int().min(1).default(10),
  /** Connected peers per anchor the autoscaler aims for. */
  targetPeersPerAnchor: z.number().int().min(1).default(5000),
  /** Seconds between two scaling decisions. */
  cooldownSeconds: z.number().int().min(0).default(300)
}), [{ rule: 'self.minReplicas <= self.maxReplicas', message: 'minReplicas must not exceed maxReplicas' }])

/**
 * A bootstrap list URL to peer with: http(s), a host, then a path or query. No credentials
 * (`@`: the list is public and signed, nothing about it is secret), no `#` (it separates the
 * pins in the anchor's `peering` option) and no white space. RE2 for the CRD, JavaScript here.
 */
const PEERING_URL_RE2 = '^https?://[^[:space:]/?#@]+([/?][^[:space:]#@]*)?$'
const PEERING_URL_PATTERN = /^https?:\/\/[^\s/?#@]+([/?][^\s#@]*)?$/
const PEERING_URL_MESSAGE = 'must be the http(s) URL of the peered fleet\'s bootstrap list, such as https://anchors.example.org/bootstrap, with no credentials (@), #fragment or spaces'
const PEERING_PIN_MESSAGE = 'must be the PeerId (12D3KooW…) of an anchor of the peered fleet, as its operator gives it (its anchors\' /status shows it)'
/** Room for a mistyped pin to get {@link PEERING_PIN_MESSAGE} rather than "too long" (a pin has 52 characters). */
const MAX_PIN_TEXT = 128

function canParseUrl (text: string): boolean {
  try {
    return new URL(text).host !== ''
  } catch {
    return false
  }
}

/**
 * Another operator's fleet to peer with (issue 15): the URL of its signed bootstrap list and
 * the PeerIds of its anchors that may sign it. Its anchors join this fleet's DHT, its list goes
 * into this fleet's; nothing else is shared (no NATS, no secret).
 */
export const peeringSchema = z.object({
  bootstrapUrl: celRules(
    z.string().max(MAX_PEERING_URL_LENGTH).refine(url => PEERING_URL_PATTERN.test(url) && canParseUrl(url), { message: PEERING_URL_MESSAGE }),
    [{ rule: `isURL(self) && self.matches('${PEERING_URL_RE2}')`, message: PEERING_URL_MESSAGE }]),
  pins: z.array(celRules(
    z.string().max(MAX_PIN_TEXT).refine(pin => ED25519_PEER_ID_PATTERN.test(pin), { message: PEERING_PIN_MESSAGE }),
    [{ rule: `self.matches('${ED25519_PEER_ID_PATTERN.source}')`, message: PEERING_PIN_MESSAGE }]
  )).min(1, { message: 'pin at least one anchor PeerId (12D3KooW…) of the peered fleet: only a list one of them signed is trusted' })
    .max(MAX_PEERING_PINS, { message: `at most ${MAX_PEERING_PINS} pins per peered fleet` })
})

export type FleetPeering = z.infer<typeof peeringSchema>

const PEERING_UNIQUE_MESSAGE = 'each bootstrapUrl may appear once: list all pins of one fleet in one entry'

export const peeringListSchema = celRules(
  z.array(peeringSchema).max(MAX_PEERED_FLEETS, { message: `at most ${MAX_PEERED_FLEETS} peered fleets` })
    .refine(list => new Set(list.map(p => p.bootstrapUrl)).size === list.length, { message: PEERING_UNIQUE_MESSAGE }),
  [{ rule: 'self.all(a, self.exists_one(b, b.bootstrapUrl == a.bootstrapUrl))', message: PEERING_UNIQUE_MESSAGE }])

const PEERING_REFRESH_MIN = '10s'
const PEERING_REFRESH_MAX = '24h'
const PEERING_REFRESH_MESSAGE = `must be a duration from ${PEERING_REFRESH_MIN} to ${PEERING_REFRESH_MAX}, such as 5m or 1h30m: how often each anchor fetches the peered fleets' lists again`
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
/** A Go-style duration, in a syntax both JavaScript and CEL (RE2) read. */
const GO_DURATION = '^([0-9]+(ms|s|m|h))+$'

/** Milliseconds of a Go-style duration such as `1h30m` (the form CEL's duration() reads). */
function goDurationMs (text: string): number {
  return [...text.matchAll(/(\d+)(ms|s|m|h)/g)].reduce((sum, [, n, unit]) => sum + Number(n) * (UNIT_MS[unit ?? ''] ?? Number.NaN), 0)
}

/** How often anchors fetch the peered lists again: bounded so a typo can neither hammer another operator nor freeze the list. */
const peeringRefreshSchema = celRules(
  z.string().max(32).refine(text => new RegExp(GO_DURATION).test(text) &&
    goDurationMs(text) >= goDurationMs(PEERING_REFRESH_MIN) && goDurationMs(text) <= goDurationMs(PEERING_REFRESH_MAX), { message: PEERING_REFRESH_MESSAGE }),
  // CEL's && is false when its left side is, even where the right would fail to parse.
  [{ rule: `self.matches('${GO_DURATION}') && duration(self) >= duration('${PEERING_REFRESH_MIN}') && duration(self) <= duration('${PEERING_REFRESH_MAX}')`, message: PEERING_REFRESH_MESSAGE }])

export const anchorFleetSpecSchema = celRules(z.object({
  replicas: z.number().int().min(0).max(1000).default(3),
  region: scopeName.default('local'),
  roles: z.array(z.enum(ANCHOR_ROLES)).min(1).default([...ANCHOR_ROLES]),
  /** Container image; the operator's own image when empty. */
  image: z.string().optional(),
  /** Secrets for pulling the anchor image from a private registry. */
  imagePullSecrets: z.array(z.object({ name: z.string().min(1) })).optional(),
  resources: resourcesSchema.default(structuredClone(DEFAULT_ANCHOR_RESOURCES)),
  nodeSelector: labelMap.optional(),
  tolerations: z.array(tolerationSchema).optional(),
  /** A core/v1 Affinity, checked by the API server when the StatefulSet is applied. */
  affinity: embeddedObject().optional(),
  /** Absent: {@link DEFAULT_TOPOLOGY_SPREAD}; an empty list turns spreading off. */
  topologySpreadConstraints: z.array(topologySpreadSchema).optional(),
  priorityClassName: z.string().optional(),
  podAnnotations: labelMap.optional(),
  /** Extra pod labels; the selector labels (app.kubernetes.io/name and instance) cannot be overridden. */
  podLabels: labelMap.optional(),
  /** Extra environment variables of the anchor container. */
  extraEnv: z.array(envVarSchema).optional(),
  /** Extra pod volumes (core/v1 Volume) and where the anchor container mounts them (core/v1 VolumeMount). */
  extraVolumes: z.array(embeddedObject()).optional(),
  extraVolumeMounts: z.array(embeddedObject()).optional(),
  storage: z.object({
    size: quantity.default('10Gi'),
    storageClassName: z.string().optional(),
    replication: z.number().int().min(1).max(16).default(3),
    writeQuorum: z.number().int().min(1).max(16).default(2)
  }).default({ size: '10Gi', replication: 3, writeQuorum: 2 }),
  relay: z.object({
    maxReservations: z.number().int().min(1).optional(),
    maxReservationsPerIp: z.number().int().min(0).optional(),
    maxCircuitsPerPeer: z.number().int().min(0).optional(),
    circuitDataLimit: sizeText.optional(),
    circuitDurationLimit: durationText.optional()
  }).optional(),
  nats: z.object({
    url: z.string().min(1),
    /** A Secret holding a NATS creds file under `key`. */
    credentialsSecret: z.object({ name: z.string().min(1), key: z.string().min(1).default('nats.creds') }).optional(),
    /**
     * Anchors log in with their own identity key as an nkey: for a NATS whose logins the operator
     * decides (auth callout, the chart's default), which admits its fleets' anchor pods.
     */
    identityNkey: z.boolean().optional(),
    /** TLS to NATS: the CA bundle that verifies its servers, from a ConfigMap or a Secret (only that key is mounted). */
    tls: z.object({
      caConfigMap: z.object({ name: z.string().min(1), key: z.string().min(1).default('ca.crt') }).optional(),
      caSecret: z.object({ name: z.string().min(1), key: z.string().min(1).default('ca.crt') }).optional()
    }).refine(t => (t.caConfigMap == null) !== (t.caSecret == null), { message: 'name the CA in exactly one of caConfigMap and caSecret' }).optional()
  }).optional(),
  exposure: z.object({
    type: z.enum(EXPOSURE_TYPES).default('ClusterIP'),
    annotations: z.record(z.string(), z.string()).optional(),
    /** NodePort and HostPort: which node address the anchors announce, first match wins. */
    nodeAddressTypes: z.array(z.enum(NODE_ADDRESS_TYPES)).min(1).default(['ExternalIP', 'InternalIP'])
  }).default({ type: 'ClusterIP', nodeAddressTypes: ['ExternalIP', 'InternalIP'] }),
  /** How browsers reach the anchors (README, "Browsers"). */
  browser: z.object({
    /** WebRTC-direct on two UDP ports that take turns as certificates rotate: no domain name or CA needed. */
    webrtcDirect: z.boolean().default(true),
    /**
     * A kubernetes.io/tls Secret (tls.crt, tls.key) for WebSocket over TLS on the WebSocket port,
     * for pages that must use wss:// (the chart can have cert-manager issue it). Reloaded when it changes.
     */
    wssSecretName: z.string().min(1).optional()
  }).default({ webrtcDirect: true }),
  autoscaling: autoscalingSchema.optional(),
  /** Other operators' fleets to peer with; absent or empty: none. Each anchor gets them as its `peering` option. */
  peering: peeringListSchema.optional(),
  /** How often each anchor fetches the peered fleets' lists again; absent: the anchor's default (5m). */
  peeringRefresh: peeringRefreshSchema.optional(),
  paused: z.boolean().default(false)
}), [{ rule: '!has(self.storage) || self.storage.writeQuorum <= self.storage.replication', message: 'storage.writeQuorum must not exceed storage.replication' }])

export type AnchorFleetSpec = z.infer<typeof anchorFleetSpecSchema>
export type AnchorFleetSpecInput = z.input<typeof anchorFleetSpecSchema>

/** `Peered` is set only on fleets with `spec.peering`. */
export const CONDITION_TYPES = ['Ready', 'Progressing', 'Degraded', 'ScalingDown', 'Peered'] as const
export type ConditionType = (typeof CONDITION_TYPES)[number]

export const conditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string(),
  observedGeneration: z.number().int().optional()
})
export type Condition = z.infer<typeof conditionSchema>

export const anchorStatusSchema = z.object({
  pod: z.string(),
  peerId: z.string().optional(),
  phase: z.enum([...MEMBER_PHASES, 'Pending', 'Unknown']),
  peers: z.number().int().optional(),
  storedBytes: z.number().int().optional()
})

/** One peered fleet as this fleet's anchors report it (their membership records over NATS). */
export const peeredFleetStatusSchema = z.object({
  bootstrapUrl: z.string(),
  /** Some anchor of this fleet holds the fleet's list, fetched and verified against the pins, not expired. */
  verified: z.boolean(),
  /** Anchors of this fleet connected to at least one of its anchors now. */
  anchorsConnected: z.number().int(),
  /** Anchors in its verified list (the most any anchor of this fleet holds); absent until verified. */
  peeredAnchors: z.number().int().optional(),
  /** Why an anchor's last fetch or verification of its list failed (the first anchor's, by pod); absent when none failed. */
  lastError: z.string().optional()
})

export type PeeredFleetStatus = z.infer<typeof peeredFleetStatusSchema>

export const anchorFleetStatusSchema = z.object({
  observedGeneration: z.number().int().optional(),
  replicas: z.number().int().optional(),
  readyReplicas: z.number().int().optional(),
  selector: z.string().optional(),
  phase: z.string().optional(),
  conditions: listMap(z.array(conditionSchema), ['type']).optional(),
  anchors: z.array(anchorStatusSchema).optional(),
  /** Dialable multiaddrs of the fleet's anchors, for apps to bootstrap from. */
  bootstrap: z.array(z.string()).optional(),
  /** The ones of them a browser can dial (WebRTC-direct with its certhash, WebSocket over TLS), for web apps. */
  browserAddresses: z.array(z.string()).optional(),
  totals: z.object({ peers: z.number().int(), reservations: z.number().int(), storedBytes: z.number().int() }).optional(),
  /** When the autoscaler last changed replicas (RFC 3339). */
  lastScaleTime: z.string().optional(),
  /** One entry per `spec.peering` fleet, while the fleet has any (the `Peered` condition sums them up). */
  peering: listMap(z.array(peeredFleetStatusSchema), ['bootstrapUrl']).optional()
})
export type AnchorFleetStatus = z.infer<typeof anchorFleetStatusSchema>

export interface AnchorFleet {
  apiVersion: typeof ANCHOR_FLEET.apiVersion
  kind: typeof ANCHOR_FLEET.kind
  metadata: {
    name: string
    namespace: string
    uid?: string
    generation?: number
    resourceVersion?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
    finalizers?: string[]
    deletionTimestamp?: string
  }
  spec: AnchorFleetSpec
  status?: AnchorFleetStatus
}

/** Annotation that lets a scale-down proceed without draining (data may be lost). */
export const FORCE_SCALE_DOWN_ANNOTATION = 'meganet.io/force-scale-down'
export const FLEET_FINALIZER = 'meganet.io/drain-storage'
/**
 * On an anchor pod: the PeerId of the one key it may log in to NATS with, recorded by the
 * operator at its first login so that a new leader holds the pod to it too.
 */
export const NATS_IDENTITY_ANNOTATION = 'meganet.io/nats-identity'
