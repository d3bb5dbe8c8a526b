import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { LabHost, NatLab } from './nat-lab.js'

/** What a host's NAT does, observed from outside with UDP (RFC 4787 terms). */
export interface NatBehaviour {
  readonly mapping: 'endpoint-independent' | 'address-and-port-dependent'
  /** Which senders reach a mapping made towards observer 1 (address:port): */
  readonly reaches: {
    /** observer 1, another port (address-dependent filtering lets it in) */
    readonly sameAddressOtherPort: boolean
    /** a host never contacted (only endpoint-independent filtering lets it in) */
    readonly otherAddress: boolean
  }
}

const OBSERVER_PORT = 3478
const OTHER_PORT = 3479
const CLIENT_PORT = 40_000

/** Answers every datagram with the address it came from, on two ports. */
const OBSERVER = `
import dgram from 'node:dgram'
for (const port of [${OBSERVER_PORT}, ${OTHER_PORT}]) {
  const s = dgram.createSocket('udp4')
  s.on('message', (m, r) => { if (m.toString() === 'map') s.send(r.address + ':' + r.port, r.port, r.address) })
  s.bind(port, () => { if (port === ${OTHER_PORT}) console.log('ready') })
}`

/** Learns its mapping from two observers, then prints whatever else arrives on the same socket. */
const CLIENT = (o1: string, o2: string): string => `
import dgram from 'node:dgram'
const s = dgram.createSocket('udp4')
const maps = []
s.on('message', (m, r) => {
  const text = m.toString()
  if (text.includes(':') && maps.length < 2) { maps.push(text); if (maps.length === 2) console.log(JSON.stringify({ maps })) }
  else console.log(JSON.stringify({ got: text }))
})
s.bind(${CLIENT_PORT}, () => {
  s.send('map', ${OBSERVER_PORT}, '${o1}')
  setTimeout(() => s.send('map', ${OBSERVER_PORT}, '${o2}'), 100)
})
setTimeout(() => process.exit(0), 60_000)`

/** Sends one datagram from a given local port. */
const SEND = (text: string, fromPort: number, to: string): string => `
import dgram from 'node:dgram'
const s = dgram.createSocket('udp4')
const [host, port] = '${to}'.split(':')
s.bind(${fromPort}, () => s.send('${text}', Number(port), host, () => s.close()))`

function runNode (lab: NatLab, host: LabHost, code: string): ReturnType<NatLab['spawn']> {
  return lab.spawn(host, [process.execPath, '--input-type=module', '-e', code])
}

/**
 * Classifies a host's NAT the way a STUN NAT-behaviour test does: two observers give the
 * mapping, then an observer's other port and a stranger try to send to it.
 */
export async function observeNat (lab: NatLab, host: LabHost, observers: readonly [LabHost, LabHost], stranger: LabHost): Promise<NatBehaviour> {
  const servers = observers.map(o => runNode(lab, o, OBSERVER))
  try {
    await Promise.all(servers.map(async s => { await once(createInterface({ input: s.stdout! }), 'line') }))
    const client = runNode(lab, host, CLIENT(observers[0].address, observers[1].address))
    const received: string[] = []
    let maps: string[] | undefined
    const mapped = new Promise<string[]>(resolve => {
      createInterface({ input: client.stdout! }).on('line', line => {
        const message = JSON.parse(line) as { maps?: string[], got?: string }
        if (message.maps != null) { maps = message.maps; resolve(message.maps) }
        if (message.got != null) received.push(message.got)
      })
    })
    const exited = once(client, 'exit')
    const [toObserver1] = await Promise.race([mapped, exited.then(() => { throw new Error(`probe client got no mapping: ${maps?.join() ?? 'none'}`) })])
    const target = toObserver1 as string
    const send = async (from: LabHost, port: number, text: string): Promise<void> => { await once(runNode(lab, from, SEND(text, port, target)), 'exit') }
    await send(observers[0], OTHER_PORT + 1, 'other-port')
    await send(stranger, OBSERVER_PORT, 'other-address')
    // Datagrams that will arrive do so within milliseconds; a loaded machine gets a second.
    await new Promise(resolve => setTimeout(resolve, 1000))
    client.kill()
    const [first, second] = maps ?? []
    return {
      mapping: first === second ? 'endpoint-independent' : 'address-and-port-dependent',
      reaches: {
        sameAddressOtherPort: received.includes('other-port'),
        otherAddress: received.includes('other-address')
      }
    }
  } finally {
    for (const server of servers) server.kill()
  }
}
