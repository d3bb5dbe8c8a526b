import { Kvm } from '@nats-io/kv'
import { fleetBuckets } from '@meganet/contracts'
import type { BucketOptions, BucketSettings, FleetScope } from '@meganet/contracts'
import type { KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/nats-core'

/** Delete markers left by expired records stay this long so late watchers still see them. */
const MARKER_TTL_MS = 60_000

/**
 * Opens a coordination bucket, creating it when missing: with delete markers (NATS ≥ 2.11) or,
 * on an older server, without. An existing bucket is opened as it is (nats.js only reads its
 * stream info), so on a locked-down NATS, where only the operator may create streams, anchors
 * open what the operator made.
 */
export async function createBucket (kvm: Pick<Kvm, 'create'>, name: string, options: BucketOptions): Promise<KV> {
  try {
    return await kvm.create(name, { ...options, markerTTL: MARKER_TTL_MS })
  } catch {
    return await kvm.create(name, options)
  }
}

/**
 * Creates a fleet's coordination buckets (its membership, the shared peer directory) with the
 * fixed options every party uses. The operator does this before the fleet's anchors connect:
 * whoever creates a stream decides its subjects, so anchors may not.
 */
export async function ensureFleetBuckets (nc: NatsConnection, scope: FleetScope, settings?: BucketSettings): Promise<void> {
  const kvm = new Kvm(nc)
  for (const { name, options } of Object.values(fleetBuckets(scope, settings))) await createBucket(kvm, name, options)
}
