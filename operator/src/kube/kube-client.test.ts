import { KubeConfig } from '@kubernetes/client-node'
import { describe, expect, it } from 'vitest'
import { OperatorMetrics } from '../operator-metrics.js'
import { Kube, LeadershipLostError } from './kube-client.js'

function config (): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x'
  })
  return kc
}

describe('a fenced Kubernetes client', () => {
  it('refuses every write once its term is over, and still reads', async () => {
    const term = new AbortController()
    const kube = new Kube(config(), new OperatorMetrics(), { signal: term.signal, until: () => Number.POSITIVE_INFINITY })
    const calls: string[] = []
    const run = (verb: string) => async () => await kube.call(verb, async () => { calls.push(verb); return await Promise.resolve(verb) })
    expect(await run('patch')()).toBe('patch')

    term.abort()
    for (const verb of ['create', 'update', 'patch', 'apply', 'delete']) await expect(run(verb)()).rejects.toBeInstanceOf(LeadershipLostError)
    expect(() => { kube.assertMayWrite('drain an anchor') }).toThrow('not leading any more: refusing to drain an anchor')
    expect(await run('get')()).toBe('get')
    expect(calls).toEqual(['patch', 'get'])
  })

  it('refuses writes once the term\'s deadline has passed, before anyone has aborted it (a replica that was frozen)', async () => {
    let until = performance.now() + 60_000
    const kube = new Kube(config(), new OperatorMetrics(), { signal: new AbortController().signal, until: () => until })
    const write = async (): Promise<string> => await kube.call('apply', async () => await Promise.resolve('written'))
    expect(await write()).toBe('written')
    until = performance.now() - 1
    await expect(write()).rejects.toBeInstanceOf(LeadershipLostError)
    expect(await kube.call('list', async () => await Promise.resolve('read'))).toBe('read')
  })
})
