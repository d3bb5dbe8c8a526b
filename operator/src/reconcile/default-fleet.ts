import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { ANCHOR_FLEET, anchorFleetSpecSchema } from '@meganet/contracts'
import { isNotFound } from '../kube/kube-client.js'
import type { Kube } from '../kube/kube-client.js'
import type { KubernetesObject } from '@kubernetes/client-node'
import type { Logger } from 'pino'

/** Owns the fields the chart's values set on the default fleet (all but the size). */
export const CHART_FIELD_MANAGER = 'meganet-chart-default-fleet'
/** Also owns the size the fleet was created with, which nothing applies again. */
export const CHART_CREATE_FIELD_MANAGER = 'meganet-chart-default-fleet-create'

export type FleetManifest = KubernetesObject & { spec: Record<string, unknown> }

export class DefaultFleetError extends Error {
  override readonly name = 'DefaultFleetError'
}

/**
 * Reads the default fleet the chart rendered (an AnchorFleet as JSON): the right kind, a name
 * and namespace, and a spec the CRD would take. The spec is kept as written: applying the
 * schema's defaults would make the chart the owner of fields it never set.
 */
export function parseDefaultFleet (text: string, source: string): FleetManifest {
  let object: unknown
  try {
    object = JSON.parse(text)
  } catch (err) {
    throw new DefaultFleetError(`${source} is not JSON (${(err as Error).message}): it is the chart's <release>-default-fleet ConfigMap; render it with helm template`)
  }
  const fleet = object as Partial<FleetManifest> | null
  if (fleet?.apiVersion !== ANCHOR_FLEET.apiVersion || fleet.kind !== ANCHOR_FLEET.kind) {
    throw new DefaultFleetError(`${source} is not an ${ANCHOR_FLEET.apiVersion} ${ANCHOR_FLEET.kind}: point --default-fleet-file at the chart's default-fleet ConfigMap`)
  }
  if (typeof fleet.metadata?.name !== 'string' || typeof fleet.metadata.namespace !== 'string') {
    throw new DefaultFleetError(`${source}: the fleet needs metadata.name and metadata.namespace`)
  }
  const spec = anchorFleetSpecSchema.safeParse(fleet.spec)
  if (!spec.success) {
    const issue = spec.error.issues[0]
    throw new DefaultFleetError(`${source}: spec.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}; fix defaultFleet.* in the chart's values`)
  }
  return fleet as FleetManifest
}

/** The fleet without its size: the size is set once, when the fleet is created, and then belongs to kubectl scale and the autoscaler. */
export function withoutSize (fleet: FleetManifest): FleetManifest {
  const { replicas: _replicas, ...spec } = fleet.spec
  return { ...fleet, spec }
}

/** Only what identifies the fleet, and its size. */
export function sizeOnly (fleet: FleetManifest): FleetManifest {
  return { apiVersion: fleet.apiVersion, kind: fleet.kind, metadata: { name: fleet.metadata?.name, namespace: fleet.metadata?.namespace }, spec: { replicas: fleet.spec.replicas } }
}

export interface DefaultFleetInit {
  readonly kube: Kube
  /** The chart's default-fleet ConfigMap, mounted (kubelet updates it in place after a helm upgrade). */
  readonly file: string
  readonly log: Logger
  readonly pollMs?: number
}

/**
 * Keeps the chart's default fleet as the chart's values say: creates it when missing (with its
 * size), and after every change of the rendered file (helm upgrade) applies the values again
 * with server-side apply — all but the size, which kubectl scale and the autoscaler own. A
 * field a user changed by hand and the values also set goes back to the values, as with any
 * object Helm manages. Deleting the release leaves the fleet (its anchors hold data and drain
 * through the operator); a fleet deleted by hand comes back only when the values change or the
 * operator restarts: set defaultFleet.enabled=false to be rid of it.
 */
export class DefaultFleet {
  private readonly init: DefaultFleetInit
  private timer?: NodeJS.Timeout
  private appliedHash?: string
  private reportedError?: string
  private running: Promise<void> = Promise.resolve()
  private stopped = false

  constructor (init: DefaultFleetInit) {
    this.init = init
  }

  start (): void {
    this.stopped = false
    this.tick()
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  private tick (): void {
    this.running = this.check().finally(() => {
      if (!this.stopped) this.timer = setTimeout(() => { this.tick() }, this.init.pollMs ?? 10_000)
    })
  }

  private async check (): Promise<void> {
    const { file, log } = this.init
    try {
      const text = await readFile(file, 'utf8')
      const hash = createHash('sha256').update(text).digest('hex')
      if (hash === this.appliedHash) return
      await this.apply(parseDefaultFleet(text, file))
      this.appliedHash = hash
      this.reportedError = undefined
    } catch (err) {
      const message = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${file} does not exist (yet); the default fleet is applied once it does` : (err as Error).message
      if (message !== this.reportedError) log.error({ file, err: message }, 'cannot apply the chart\'s default fleet; retrying')
      this.reportedError = message
    }
  }

  private async apply (fleet: FleetManifest): Promise<void> {
    const { kube, log } = this.init
    const name = fleet.metadata?.name ?? ''
    const namespace = fleet.metadata?.namespace ?? ''
    if (!await this.exists(namespace, name)) {
      await kube.apply(fleet, CHART_FIELD_MANAGER)
      // A second owner for the size, so that the next applies, which leave it out, do not
      // remove it (server-side apply removes a field that its last owner stops applying).
      await kube.apply(sizeOnly(fleet), CHART_CREATE_FIELD_MANAGER)
      log.info({ fleet: `${namespace}/${name}`, replicas: fleet.spec.replicas }, 'created the chart\'s default fleet')
      return
    }
    await kube.apply(withoutSize(fleet), CHART_FIELD_MANAGER)
    log.info({ fleet: `${namespace}/${name}` }, 'applied the chart\'s default fleet values (all but replicas)')
  }

  private async exists (namespace: string, name: string): Promise<boolean> {
    const { kube } = this.init
    try {
      await kube.call('get', async () => { await kube.custom.getNamespacedCustomObject({ group: ANCHOR_FLEET.group, version: ANCHOR_FLEET.version, namespace, plural: ANCHOR_FLEET.plural, name }) })
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }
}
