import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { afterEach } from 'vitest'
import type { Libp2p, ServiceMap } from '@libp2p/interface'
import type { ConnectionManagerInit, ServiceFactoryMap } from 'libp2p'

export interface LoopbackNodeOptions {
  readonly maxConnections?: number
  readonly connectionManager?: ConnectionManagerInit
  /** Listen over plain TCP (the default) or WebSocket. */
  readonly transport?: 'tcp' | 'ws'
}

/** A started libp2p node for the patch tests: TCP (or WebSocket) on 127.0.0.1, Noise, yamux, and the given services. */
export async function loopbackNode<T extends ServiceMap = ServiceMap> (services?: ServiceFactoryMap<T>, options: LoopbackNodeOptions = {}): Promise<Libp2p<T>> {
  const connectionManager = { ...options.connectionManager, ...(options.maxConnections != null ? { maxConnections: options.maxConnections } : {}) }
  const ws = options.transport === 'ws'
  return await createLibp2p<T>({
    ...(Object.keys(connectionManager).length > 0 ? { connectionManager } : {}),
    addresses: { listen: [ws ? '/ip4/127.0.0.1/tcp/0/ws' : '/ip4/127.0.0.1/tcp/0'] },
    transports: [ws ? webSockets() : tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(services != null ? { services } : {})
  })
}

/** For a describe block: makes {@link loopbackNode}s and stops them after each test. */
export function loopbackNodes (): typeof loopbackNode {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })
  return async (services, options) => {
    const created = await loopbackNode(services, options)
    nodes.push(created)
    return created
  }
}
