import {
  ApiException, AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, KubernetesObjectApi, PatchStrategy
} from '@kubernetes/client-node'
import type { OperatorMetrics } from '../operator-metrics.js'
import type { KubernetesObject } from '@kubernetes/client-node'

export const FIELD_MANAGER = 'meganet-operator'

/** The HTTP status of a failed API call, or undefined for a non-HTTP failure. */
export function statusOf (err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined
}

/**
 * What the API server said, for status conditions and events: client-node's own message wraps
 * the server's Status object as escaped JSON in "HTTP-Code: … Body: …".
 */
export function apiErrorMessage (err: unknown): string {
  if (!(err instanceof ApiException)) return err instanceof Error ? err.message : String(err)
  const body: unknown = err.body
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown, reason?: unknown }
    if (typeof status.message === 'string') return `${err.code} ${typeof status.reason === 'string' ? `${status.reason}: ` : ''}${status.message}`
  } catch {
    // not a Status object: fall through to the HTTP code
  }
  return `HTTP ${err.code}`
}

export function isNotFound (err: unknown): boolean { return statusOf(err) === 404 }
export function isConflict (err: unknown): boolean { return statusOf(err) === 409 }

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0]
type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>

/**
 * client-node (2.0) builds a new undici Agent for every API request, so no connection is ever
 * reused: each request paid a TLS handshake (with client-certificate auth) and left a socket
 * open until its keep-alive timed out. This has every request of `config` share the first
 * Agent, whose TLS options (CA, client certificate) are the same for one cluster and user.
 */
export function reuseConnections (config: KubeConfig): KubeConfig {
  const apply = config.applySecurityAuthentication.bind(config)
  let shared: Dispatcher | undefined
  config.applySecurityAuthentication = async (context: RequestContext): Promise<void> => {
    await apply(context)
    const fresh = context.getDispatcher()
    if (fresh == null) return
    shared ??= fresh
    if (fresh !== shared) context.setDispatcher(shared)
  }
  return config
}

/** Verbs that change nothing: allowed after leadership is lost (a standby still reads). */
const READ_VERBS = new Set(['get', 'list', 'watch'])

/** A write refused because this replica no longer leads: another one may be writing already. */
export class LeadershipLostError extends Error {
  constructor (what: string) {
    super(`not leading any more: refusing to ${what}`)
    this.name = 'LeadershipLostError'
  }
}

/** When a leadership term's writes must stop. */
export interface WriteFence {
  /** Aborted when this replica loses its lease. */
  readonly signal: AbortSignal
  /** The term's deadline on `performance.now()`'s clock (its renew deadline), even if no one aborted yet. */
  readonly until: () => number
}

/**
 * The API clients the operator uses, with every request counted by verb and code. Given a
 * `fence`, it refuses every write once the term is over: lost, or past its deadline.
 */
export class Kube {
  readonly config: KubeConfig
  readonly objects: KubernetesObjectApi
  readonly custom: CustomObjectsApi
  readonly core: CoreV1Api
  readonly apps: AppsV1Api
  private readonly metrics: OperatorMetrics
  private readonly fence?: WriteFence

  constructor (config: KubeConfig, metrics: OperatorMetrics, fence?: WriteFence) {
    this.config = config
    this.metrics = metrics
    if (fence != null) this.fence = fence
    this.objects = KubernetesObjectApi.makeApiClient(config)
    this.custom = config.makeApiClient(CustomObjectsApi)
    this.core = config.makeApiClient(CoreV1Api)
    this.apps = config.makeApiClient(AppsV1Api)
  }

  /** A kubeconfig file, or in-cluster / `$KUBECONFIG` / `~/.kube/config` when none is given. */
  static load (kubeconfigPath?: string): KubeConfig {
    const config = new KubeConfig()
    if (kubeconfigPath != null) config.loadFromFile(kubeconfigPath)
    else config.loadFromDefault()
    return reuseConnections(config)
  }

  /** Throws {@link LeadershipLostError} once the fence is down: call before any write, to the API server or not. */
  assertMayWrite (what: string): void {
    if (this.fence == null) return
    if (this.fence.signal.aborted || performance.now() >= this.fence.until()) throw new LeadershipLostError(what)
  }

  /** Runs one API call and counts it; a write is refused once the fence is down. */
  async call<T> (verb: string, run: () => Promise<T>): Promise<T> {
    if (!READ_VERBS.has(verb)) this.assertMayWrite(verb)
    try {
      const result = await run()
      this.metrics.kubeRequests.inc({ verb, code: '200' })
      return result
    } catch (err) {
      this.metrics.kubeRequests.inc({ verb, code: String(statusOf(err) ?? 'error') })
      throw err
    }
  }

  /** Server-side apply under a field manager (the operator's own by default), taking ownership of conflicts. */
  async apply<T extends KubernetesObject> (object: T, fieldManager = FIELD_MANAGER): Promise<T> {
    return await this.call('apply', async () => await this.objects.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply))
  }
}
