import { EventEmitter } from 'node:events'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { KubeConfig } from '@kubernetes/client-node'

/** A client-node informer whose list the test answers by hand. */
class FakeInformer extends EventEmitter {
  static created: FakeInformer[] = []
  listed?: () => void
  constructor () { super(); FakeInformer.created.push(this) }
  async start (): Promise<void> { await new Promise<void>(resolve => { this.listed = resolve }) }
  async stop (): Promise<void> {}
  list (): [] { return [] }
  get (): undefined { return undefined }
}

vi.mock('@kubernetes/client-node', () => ({ makeInformer: () => new FakeInformer() }))
const { ResilientInformer } = await import('./resilient-informer.js')

describe('a resilient informer', () => {
  beforeEach(() => { vi.useFakeTimers(); FakeInformer.created = [] })
  afterEach(() => { vi.useRealTimers() })

  it('is unsynced from a watch restart until the new list has returned', async () => {
    const informer = new ResilientInformer({
      config: {} as KubeConfig, path: '/apis/apps/v1/statefulsets', list: async () => await Promise.resolve({ items: [] }), onChange: () => {}, log: pino({ level: 'silent' })
    })
    const started = informer.start()
    expect(informer.hasSynced).toBe(false)
    FakeInformer.created[0]!.listed!()
    await started
    expect(informer.hasSynced).toBe(true)

    FakeInformer.created[0]!.emit('error', new Error('watch closed'))
    await vi.advanceTimersByTimeAsync(500)
    expect(FakeInformer.created).toHaveLength(2)
    expect(informer.restarts).toBe(1)
    expect(informer.hasSynced).toBe(false)
    FakeInformer.created[1]!.listed!()
    await vi.advanceTimersByTimeAsync(0)
    expect(informer.hasSynced).toBe(true)
    await informer.stop()
  })
})
