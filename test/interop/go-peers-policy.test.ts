import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const SOURCE = fileURLToPath(new URL('../tools/go-relay', import.meta.url))
const CACHE = process.env.MEGANET_CACHE ?? join(homedir(), '.cache', 'meganet')

/**
 * The reconnect-storm benchmark's go-libp2p peers stand in for the peer library's: their redial
 * and reservation-retry policies are Go ports, checked by test/tools/go-relay/peers_test.go
 * against the js behaviour. Built with the module and build caches install-go-relay.sh fills.
 */
describe('the storm\'s go-libp2p peers keep the peer library\'s policies', () => {
  it('passes peers_test.go', async () => {
    const goRoot = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin' : undefined
    const env = {
      ...process.env,
      PATH: [goRoot, process.env.PATH].filter(Boolean).join(':'),
      GOMODCACHE: join(CACHE, 'go', 'mod'),
      GOCACHE: join(CACHE, 'go', 'build'),
      GOFLAGS: '-mod=readonly',
      GOTOOLCHAIN: 'local',
      CGO_ENABLED: '0'
    }
    const { stdout } = await promisify(execFile)('go', ['test', '-count=1', '-run', '.', '.'], { cwd: SOURCE, env, timeout: 280_000 })
    expect(stdout).toMatch(/^ok\s/m)
  }, 300_000) // compiles go-libp2p's test deps once (the relay's build has cached most of it)
})
