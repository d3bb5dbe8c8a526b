import { execFile, execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_CIRCUIT_DATA_LIMIT_BYTES, DEFAULT_CIRCUIT_DURATION_LIMIT_MS } from '../../node-image/src/config/anchor-defaults.js'
import { AnchorProcess } from '../helpers/anchor-process.js'

const INSTALL_SCRIPT = fileURLToPath(new URL('../tools/install-go-relay.sh', import.meta.url))

interface GoReservation { limitDurationSeconds: number, limitDataBytes: number, expiresInSeconds: number }

/** go-libp2p's relay client (test/tools/go-relay `reserve`), built once from the Go module proxy. */
async function goReserve (relay: string): Promise<GoReservation> {
  const binary = process.env.MEGANET_GO_RELAY ?? execFileSync('bash', [INSTALL_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim()
  const { stdout } = await promisify(execFile)(binary, ['reserve', '--relay', relay], { timeout: 30_000 })
  return JSON.parse(stdout) as GoReservation
}

describe('a go-libp2p client reads the relay\'s limits as the spec defines them', () => {
  const anchors: AnchorProcess[] = []
  beforeAll(async () => {
    anchors.push(await AnchorProcess.start())
    anchors.push(await AnchorProcess.start({ flags: { 'relay-circuit-duration-limit': '90s', 'relay-circuit-data-limit': '1MiB' } }))
  }, 300_000) // the first run may build go-relay (about 1.5 min cold)

  afterAll(async () => {
    await Promise.all(anchors.map(async a => await a.cleanup()))
  })

  it('states the 30 min default duration limit as 1800 s on the wire', async () => {
    const reservation = await goReserve(anchors[0]!.tcpAddress)
    expect(DEFAULT_CIRCUIT_DURATION_LIMIT_MS).toBe(30 * 60 * 1000)
    expect(reservation.limitDurationSeconds).toBe(1800)
    expect(reservation.limitDataBytes).toBe(DEFAULT_CIRCUIT_DATA_LIMIT_BYTES)
    expect(reservation.expiresInSeconds).toBeGreaterThan(3500)
  }, 300_000)

  it('states a configured limit in seconds too', async () => {
    const reservation = await goReserve(anchors[1]!.tcpAddress)
    expect(reservation.limitDurationSeconds).toBe(90)
    expect(reservation.limitDataBytes).toBe(1024 * 1024)
  }, 60_000)
})
