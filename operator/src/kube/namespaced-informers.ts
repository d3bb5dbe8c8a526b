import { ResilientInformer } from './resilient-informer.js'
import type { InformerInit } from './resilient-informer.js'
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node'

/** How to list one kind in every namespace, or in one. */
export interface NamespacedSource<T extends KubernetesObject> {
  /** API path of the kind across namespaces, e.g. `/api/v1/pods`. */
  readonly path: (namespace?: string) => string
  readonly list: (namespace?: string) => Promise<KubernetesListObject<T>>
}

/**
 * One informer over every namespace, or (when the operator may only see some namespaces, with
 * Roles instead of a ClusterRole) one per listed namespace, behind the same reads.
 */
export class NamespacedInformers<T extends KubernetesObject> {
  private readonly informers: Map<string, ResilientInformer<T>>

  constructor (namespaces: readonly string[], source: NamespacedSource<T>, init: Omit<InformerInit<T>, 'path' | 'list'>) {
    const scopes = namespaces.length > 0 ? namespaces : ['']
    this.informers = new Map(scopes.map(ns => {
      const namespace = ns === '' ? undefined : ns
      return [ns, new ResilientInformer<T>({ ...init, path: source.path(namespace), list: async () => await source.list(namespace) })]
    }))
  }

  get hasSynced (): boolean { return [...this.informers.values()].every(i => i.hasSynced) }

  list (): T[] { return [...this.informers.values()].flatMap(i => i.list()) }

  get (name: string, namespace: string): T | undefined {
    return (this.informers.get(namespace) ?? this.informers.get(''))?.get(name, namespace)
  }

  async start (): Promise<void> { await Promise.all([...this.informers.values()].map(async i => { await i.start() })) }

  async stop (): Promise<void> { await Promise.all([...this.informers.values()].map(async i => { await i.stop() })) }
}
