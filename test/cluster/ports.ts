import { createServer } from 'node:net'
import type { AddressInfo, Server } from 'node:net'

/** `count` distinct TCP ports that were free a moment ago on 127.0.0.1 (all held at once while picked). */
export async function freePorts (count: number): Promise<number[]> {
  const servers: Server[] = []
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer()
      servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', resolve)
      })
    }
    return servers.map(s => (s.address() as AddressInfo).port)
  } finally {
    await Promise.all(servers.map(async s => await new Promise<void>(resolve => s.close(() => resolve()))))
  }
}
