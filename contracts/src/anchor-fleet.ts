/**
 * The `AnchorFleet` custom resource (meganet.io/v1alpha1), defined once: the zod schemas give
 * the TypeScript types, the operator's validation and, through `structuralSchema`, the CRD's
 * OpenAPI schema (with defaults and CEL rules) that the chart ships.
 */
import { z } from 'zod'
import { ANCHOR_ROLES } from './roles.js'
import { MEMBER_PHASES, scopeName } from './coordination.js'
import { celRules } from './openapi.js'

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

export const resourcesSchema = z.object({
  requests: z.record(z.string(), quantity).optional(),
  limits: z.record(z.string(), quantity).optional()
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

export const anchorFleetSpecSchema = celRules(z.object({
  replicas: z.number().int().min(0).max(1000).default(3),
  region: scopeName.default('local'),
  roles: z.array(z.enum(ANCHOR_ROLES)).min(1).default([...ANCHOR_ROLES]),
  /** Container image; the operator's own image when empty. */
  image: z.string().optional(),
  resources: resourcesSchema.optional(),
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
    credentialsSecret: z.object({ name: z.string().min(1), key: z.string().min(1).default('nats.creds') }).optional()
  }).optional(),
  exposure: z.object({
    type: z.enum(EXPOSURE_TYPES).default('ClusterIP'),
    annotations: z.record(z.string(), z.string()).optional()
  }).default({ type: 'ClusterIP' }),
  autoscaling: autoscalingSchema.optional(),
  paused: z.boolean().default(false)
}), [{ rule: '!has(self.storage) || self.storage.writeQuorum <= self.storage.replication', message: 'storage.writeQuorum must not exceed storage.replication' }])

export type AnchorFleetSpec = z.infer<typeof anchorFleetSpecSchema>
export type AnchorFleetSpecInput = z.input<typeof anchorFleetSpecSchema>

export const CONDITION_TYPES = ['Ready', 'Progressing', 'Degraded', 'ScalingDown'] as const
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

export const anchorFleetStatusSchema = z.object({
  observedGeneration: z.number().int().optional(),
  replicas: z.number().int().optional(),
  readyReplicas: z.number().int().optional(),
  selector: z.string().optional(),
  phase: z.string().optional(),
  conditions: z.array(conditionSchema).optional(),
  anchors: z.array(anchorStatusSchema).optional(),
  /** Dialable multiaddrs of the fleet's anchors, for apps to bootstrap from. */
  bootstrap: z.array(z.string()).optional(),
  totals: z.object({ peers: z.number().int(), reservations: z.number().int(), storedBytes: z.number().int() }).optional(),
  /** When the autoscaler last changed replicas (RFC 3339). */
  lastScaleTime: z.string().optional()
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
