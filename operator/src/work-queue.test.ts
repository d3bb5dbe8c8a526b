import { describe, expect, it } from 'vitest'
import { WorkQueue } from './work-queue.js'

describe('the work queue', () => {
  it('stops starting reconciles at once and tells when the ones in flight have ended', async () => {
    let finish: () => void = () => {}
    const started: string[] = []
    const queue = new WorkQueue(async key => {
      started.push(key)
      await new Promise<void>(resolve => { finish = resolve })
      return {}
    }, () => {})
    queue.add('mesh/a')
    await new Promise(resolve => setImmediate(resolve))
    expect(started).toEqual(['mesh/a'])

    queue.stop()
    queue.add('mesh/b')
    let idle = false
    const waiting = queue.idle().then(() => { idle = true })
    await new Promise(resolve => setImmediate(resolve))
    expect(idle).toBe(false)
    finish()
    await waiting
    expect(idle).toBe(true)
    expect(started).toEqual(['mesh/a'])
  })
})
