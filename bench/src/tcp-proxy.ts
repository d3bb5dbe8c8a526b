import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

/** A plain TCP proxy in its own process (Node `net` piping): the comparator for the relay. */
const PROXY_SCRIPT = `
const net = require('node:net')
const target = Number(process.argv[1])
const server = net.createServer(client => {
  const upstream = net.connect(target, '127.0.0.1')
  client.pipe(upstream).pipe(client)
  client.on('error', () => upstream.destroy())
  upstream.on('error', () => client.destroy())
})
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'))
`

export async function startTcpProxy (targetPort: number): Promise<{ port: number, child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', PROXY_SCRIPT, String(targetPort)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())))
    child.once('exit', code => reject(new Error(`proxy exited with ${code}`)))
  })
  return { port, child }
}
