import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

/**
 * Starts a node with identify push, changes its protocols (a push is scheduled), stops it, and
 * prints the debounce timers still pending: each keeps a process alive for a second.
 */
const SCRIPT = `
const pending = new Set()
const set = globalThis.setTimeout
const clear = globalThis.clearTimeout
globalThis.setTimeout = (fn, ms, ...args) => {
  const timer = set((...a) => { pending.delete(timer); fn(...a) }, ms, ...args)
  if (new Error().stack.includes('debounce')) pending.add(timer)
  return timer
}
globalThis.clearTimeout = timer => { pending.delete(timer); clear(timer) }
const { generateKeyPair } = await import('@libp2p/crypto/keys')
const { identify, identifyPush } = await import('@libp2p/identify')
const { createLibp2p } = await import('libp2p')
const node = await createLibp2p({ privateKey: await generateKeyPair('Ed25519'), services: { identify: identify(), identifyPush: identifyPush() } })
await node.start()
await node.handle('/meganet/test/1.0.0', () => {})
const scheduled = pending.size
await node.stop()
process.stdout.write(JSON.stringify({ scheduled, pendingAfterStop: pending.size }))
`

describe('the identify-push patch (patches/README.md)', () => {
  it('cancels a scheduled push when the node stops, so a short-lived CLI process exits at once', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: import.meta.dirname, timeout: 20_000 })
    expect(JSON.parse(stdout)).toEqual({ scheduled: 1, pendingAfterStop: 0 })
  })
})
