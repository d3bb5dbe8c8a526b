import { once } from 'node:events'
import { connect } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { createCertificate } from '../transports/webrtc-direct-certificates.js'
import { failAccept } from './accept-error.fixture.js'
import type { Libp2p, Listener } from '@libp2p/interface'
import type { Server, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'

const wsNode = async (listen: string[], init: Parameters<typeof webSockets>[0] = {}): Promise<Libp2p> => await createLibp2p({
  addresses: { listen },
  transports: [webSockets(init)],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()]
})

const wsPort = (node: Libp2p): string => node.getMultiaddrs()[0]!.getComponents().find(c => c.name === 'tcp')!.value!

describe('the WebSocket patches (patches/README.md, "@libp2p+websockets")', () => {
  const nodes: Libp2p[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('ends the WebSocket of a connection the listener aborts, and reports its close once', async () => {
    const listener = await wsNode(['/ip4/127.0.0.1/tcp/0/ws'])
    const dialer = await wsNode([])
    nodes.push(listener, dialer)
    let closes = 0
    listener.addEventListener('connection:close', () => { closes++ })
    const outbound = await dialer.dial(listener.getMultiaddrs()[0]!)
    await expect.poll(() => listener.getConnections(dialer.peerId).length).toBe(1)

    listener.getConnections(dialer.peerId)[0]!.abort(new Error('aborted by the test'))
    // Unpatched, the abort's close(1006) threw inside libp2p and the socket stayed open: the
    // dialer kept a connection the listener had given up.
    await expect.poll(() => outbound.status, { timeout: 5_000 }).not.toBe('open')
    expect(dialer.getConnections(listener.peerId)).toHaveLength(0)
    // The socket's own close, after the abort, was reported as a second close of the connection.
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(closes).toBe(1)
  })

  it('survives a malformed frame: the connection that sent it is closed and the node serves on', async () => {
    const listener = await wsNode(['/ip4/127.0.0.1/tcp/0/ws'])
    const dialer = await wsNode([])
    nodes.push(listener, dialer)
    const socket = connect(Number(wsPort(listener)), '127.0.0.1')
    socket.on('error', () => {})
    await once(socket, 'connect')
    socket.write('GET / HTTP/1.1\r\nHost: anchor\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    const [answer] = await once(socket, 'data') as [Buffer]
    expect(answer.toString()).toMatch(/^HTTP\/1\.1 101/)
    const closed = once(socket, 'close')
    // A masked frame with reserved opcode 3. Unpatched, ws emitted 'error' with no listener: the
    // process threw (vitest reports it as an unhandled error; an anchor exited).
    socket.write(Buffer.from([0x83, 0x80, 1, 2, 3, 4]))
    await closed
    await expect(dialer.dial(listener.getMultiaddrs()[0]!)).resolves.toBeDefined()
  })

  it('destroys a socket that has not completed its upgrade in time, silent or dribbling its request', async () => {
    const listener = await wsNode(['/ip4/127.0.0.1/tcp/0/ws'], { upgradeTimeout: 500 })
    nodes.push(listener)
    const open = async (): Promise<Socket> => {
      const socket = connect(Number(wsPort(listener)), '127.0.0.1')
      socket.on('error', () => {})
      await once(socket, 'connect')
      return socket
    }
    const silent = await open()
    const dribbling = await open()
    const request = 'GET / HTTP/1.1\r\nHost: anchor\r\nUpgrade: websocket\r\n'
    let sent = 0
    const drip = setInterval(() => { if (sent < request.length) dribbling.write(request[sent++]!) }, 50)
    const startedAt = Date.now()
    // Not events.once: it rejects on 'error', and a byte dripped after the server's close draws a reset.
    const closed = (socket: Socket): Promise<void> => new Promise(resolve => socket.once('close', () => resolve()))
    // Unpatched, both stayed open: the http server they are handed to applies no timeouts.
    await Promise.all([closed(silent), closed(dribbling)])
    clearInterval(drip)
    expect(Date.now() - startedAt).toBeLessThan(3_000)

    // One that upgrades in time is not cut off at the deadline.
    const client = new WebSocket(`ws://127.0.0.1:${wsPort(listener)}`)
    await once(client, 'open')
    await new Promise(resolve => setTimeout(resolve, 800))
    expect(client.readyState).toBe(WebSocket.OPEN)
    client.close()
  })

  it('keeps the upgrade deadline over TLS: a silent TLS socket is destroyed, one that upgraded in time stays', async () => {
    const { certificatePem, privateKeyPem } = await createCertificate(0, Date.now(), 60 * 60 * 1000)
    const listener = await wsNode(['/ip4/127.0.0.1/tcp/0/tls/ws'], { upgradeTimeout: 500, https: { cert: certificatePem, key: privateKeyPem } })
    nodes.push(listener)
    const open = async (): Promise<TLSSocket> => {
      const socket = tlsConnect({ port: Number(wsPort(listener)), host: '127.0.0.1', rejectUnauthorized: false })
      socket.on('error', () => {})
      await once(socket, 'secureConnect')
      return socket
    }
    const closed = (socket: TLSSocket): Promise<void> => new Promise(resolve => socket.once('close', () => resolve()))
    const silent = await open()
    const upgraded = await open()
    upgraded.write('GET / HTTP/1.1\r\nHost: anchor\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    const [answer] = await once(upgraded, 'data') as [Buffer]
    expect(answer.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /)
    let upgradedClosed = false
    upgraded.once('close', () => { upgradedClosed = true })
    await closed(silent)
    // Past the deadline: the deadline of the raw socket under the upgraded TLS socket was cleared.
    await new Promise(resolve => setTimeout(resolve, 800))
    expect(upgradedClosed).toBe(false)
    upgraded.destroy()
  })

  it('keeps each connection\'s deadline when one source address and port reaches two of its addresses', async () => {
    // A listener on 0.0.0.0 is reached at 127.0.0.1 and 127.0.0.2 from the same source address and
    // port: keyed by the source alone, the first one's upgrade cleared the second one's deadline.
    const listener = await wsNode(['/ip4/0.0.0.0/tcp/0/ws'], { upgradeTimeout: 500 })
    nodes.push(listener)
    const source = { localAddress: '127.0.0.5', localPort: 20_000 + Math.floor(Math.random() * 20_000) }
    const open = async (host: string): Promise<Socket> => {
      const socket = connect({ host, port: Number(wsPort(listener)), ...source })
      socket.on('error', () => {})
      await once(socket, 'connect')
      return socket
    }
    const upgraded = await open('127.0.0.1')
    const silent = await open('127.0.0.2')
    const silentClosed = new Promise<void>(resolve => silent.once('close', () => resolve()))
    let upgradedClosed = false
    upgraded.once('close', () => { upgradedClosed = true })
    upgraded.write('GET / HTTP/1.1\r\nHost: anchor\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    const [answer] = await once(upgraded, 'data') as [Buffer]
    expect(answer.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /)
    const silentClosedInTime = await Promise.race([silentClosed.then(() => true), new Promise<boolean>(resolve => setTimeout(() => resolve(false), 3_000))])
    expect(silentClosedInTime).toBe(true)
    await new Promise(resolve => setTimeout(resolve, 800))
    expect(upgradedClosed).toBe(false)
    upgraded.destroy()
    silent.destroy()
  })

  it('closes an inbound WebSocket that sends a message larger than maxPayload, before buffering it', async () => {
    const listener = await wsNode(['/ip4/127.0.0.1/tcp/0/ws'], { maxPayload: 64 * 1024 })
    nodes.push(listener)
    const client = new WebSocket(`ws://127.0.0.1:${wsPort(listener)}`)
    await once(client, 'open')
    const closed = once(client, 'close') as Promise<[CloseEvent]>
    client.send(new Uint8Array(64 * 1024 + 1))
    // 1009: message too big. Unpatched, ws took messages up to 100 MiB.
    const [event] = await closed
    expect(event.code).toBe(1009)
  })

  it('survives an accept that failed after listen, reports it, and serves on', async () => {
    const listener = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { transports: (components: { transportManager: { getListeners: () => Listener[] } }) => components.transportManager }
    })
    const dialer = await wsNode([])
    nodes.push(listener, dialer)
    const [wsListener] = listener.services.transports.getListeners()
    const reported: unknown[] = []
    wsListener!.addEventListener('error', (event) => { reported.push(event.detail) })
    // Unpatched, nothing listened for the server's 'error' once it listened: vitest reports the
    // thrown EMFILE, as an anchor would have exited on it.
    failAccept((wsListener as unknown as { server: Server }).server)
    expect(reported).toEqual([expect.objectContaining({ code: 'EMFILE' })])
    await expect(dialer.dial(listener.getMultiaddrs()[0]!)).resolves.toBeDefined()
  })
})
