import { createSocket } from 'node:dgram'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { freePort, freeUdpPort } from './ports.js'

/** The kernel's ephemeral range start on Linux; undefined elsewhere. */
function ephemeralStart (): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
  } catch {
    return undefined
  }
}

describe('free ports', () => {
  it('picks TCP ports below the ephemeral range, which listen(0) and outgoing connections never take, and free to listen on', async () => {
    const start = ephemeralStart()
    for (let i = 0; i < 10; i++) {
      const port = await freePort()
      if (start != null) expect(port).toBeLessThan(start)
      expect(port).toBeGreaterThanOrEqual(10_000)
      const server = createServer()
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  })

  it('picks UDP ports the same way', async () => {
    const start = ephemeralStart()
    const port = await freeUdpPort()
    if (start != null) expect(port).toBeLessThan(start)
    const socket = createSocket('udp4')
    await new Promise<void>((resolve, reject) => { socket.once('error', reject); socket.bind(port, '127.0.0.1', resolve) })
    await new Promise<void>(resolve => socket.close(() => resolve()))
  })
})
