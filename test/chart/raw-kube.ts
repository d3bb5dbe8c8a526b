import { request } from 'node:https'
import type { RenderedObject } from './helm.js'
import type { KubeConfig } from '@kubernetes/client-node'
import type { RequestOptions } from 'node:https'

export class KubeRequestError extends Error {
  readonly status: number
  constructor (method: string, path: string, status: number, body: string) {
    const message = (JSON.parse(body || '{}') as { message?: string }).message ?? body
    super(`${method} ${path}: ${status} ${message}`)
    this.name = 'KubeRequestError'
    this.status = status
  }
}

interface ApiResource { name: string, kind: string, namespaced: boolean }

/**
 * Raw JSON requests to the API server. client-node's typed models drop the keys they do not
 * know (a typo in a chart, `x-kubernetes-validations` in a CRD), so objects under test are sent
 * as they were rendered, with `fieldValidation=Strict`: the API server itself refuses unknown or
 * duplicate fields.
 */
export class RawKube {
  private readonly config: KubeConfig
  private readonly resources = new Map<string, Promise<ApiResource[]>>()

  constructor (config: KubeConfig) {
    this.config = config
  }

  /** `Warning` headers of the last responses (e.g. Pod Security on workload templates). */
  readonly warnings: string[] = []

  async request<T> (method: string, path: string, body?: unknown): Promise<T> {
    const server = new URL(this.config.getCurrentCluster()?.server ?? '')
    const options: RequestOptions = {
      method, hostname: server.hostname, port: server.port, path,
      headers: { Accept: 'application/json', ...(body != null ? { 'Content-Type': 'application/json' } : {}) }
    }
    await this.config.applyToHTTPSOptions(options)
    return await new Promise<T>((resolve, reject) => {
      const req = request(options, res => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => { text += chunk })
        res.on('end', () => {
          const warning = res.headers.warning
          if (warning != null) this.warnings.push(...(Array.isArray(warning) ? warning : [warning]))
          const status = res.statusCode ?? 0
          if (status >= 200 && status < 300) resolve(JSON.parse(text) as T)
          else reject(new KubeRequestError(method, path, status, text))
        })
      })
      req.on('error', reject)
      req.end(body != null ? JSON.stringify(body) : undefined)
    })
  }

  /** The collection URL of an object's kind, found through discovery. */
  async collectionPath (object: RenderedObject, namespace: string): Promise<string> {
    const prefix = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`
    let list = this.resources.get(prefix)
    if (list == null) {
      list = this.request<{ resources: ApiResource[] }>('GET', prefix).then(r => r.resources)
      this.resources.set(prefix, list)
      list.catch(() => this.resources.delete(prefix))
    }
    const resource = (await list).find(r => r.kind === object.kind && !r.name.includes('/'))
    if (resource == null) throw new Error(`the API server does not serve ${object.kind} in ${object.apiVersion}`)
    return resource.namespaced ? `${prefix}/namespaces/${object.metadata.namespace ?? namespace}/${resource.name}` : `${prefix}/${resource.name}`
  }

  /** Server-side dry run of a create: admission, validation and defaulting, nothing stored. */
  async dryRunCreate (object: RenderedObject, namespace: string): Promise<RenderedObject> {
    const path = await this.collectionPath(object, namespace)
    return await this.request<RenderedObject>('POST', `${path}?dryRun=All&fieldValidation=Strict`, object)
  }

  async create (object: RenderedObject, namespace: string): Promise<RenderedObject> {
    return await this.request<RenderedObject>('POST', `${await this.collectionPath(object, namespace)}?fieldValidation=Strict`, object)
  }

  /** Forgets discovery, e.g. after a CRD was installed. */
  forget (): void {
    this.resources.clear()
  }
}
