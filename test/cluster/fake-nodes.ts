import { DEFAULT_NODE_ALLOCATABLE, FAKE_NODE_TAINT, KWOK_NODE_ANNOTATION_KEY, KWOK_NODE_ANNOTATION_VALUE } from './constants.js'
import type { V1Node } from '@kubernetes/client-node'

export interface FakeNodeOptions {
  /** Extra labels, e.g. `topology.kubernetes.io/zone`. @default none */
  readonly labels?: Readonly<Record<string, string>>
  /**
   * Taint the node with FAKE_NODE_TAINT, so that only pods with FAKE_NODE_TOLERATION land on it.
   * Off by default: every node of a test cluster is a kwok node, so there is nothing to keep
   * pods away from, and the operator's pods need no test-only toleration.
   * @default false
   */
  readonly taint?: boolean
  /** `status.allocatable` (also used as capacity). @default DEFAULT_NODE_ALLOCATABLE */
  readonly allocatable?: Readonly<Record<string, string>>
}

/**
 * A Node object that kwok manages (it carries the kwok annotation). kwok's node-initialize stage
 * then marks it Ready, gives it the address --node-ip and keeps the allocatable set here.
 */
export function fakeNode (name: string, options: FakeNodeOptions = {}): V1Node {
  const allocatable = { ...(options.allocatable ?? DEFAULT_NODE_ALLOCATABLE) }
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION_KEY]: KWOK_NODE_ANNOTATION_VALUE },
      labels: {
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
        ...options.labels
      }
    },
    spec: options.taint === true ? { taints: [{ ...FAKE_NODE_TAINT }] } : {},
    status: { allocatable, capacity: { ...allocatable } }
  }
}

export function nodeIsReady (node: V1Node): boolean {
  return node.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True') ?? false
}

/** Ready, and without the condition taints (`node.kubernetes.io/...`) the control plane adds. */
export function nodeIsSchedulable (node: V1Node): boolean {
  return nodeIsReady(node) && !(node.spec?.taints?.some(t => t.key.startsWith('node.kubernetes.io/')) ?? false)
}
