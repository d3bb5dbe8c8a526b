import { chmod, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BINARY_ENV, findBinaries, parseExports } from './binaries.js'

describe('parseExports', () => {
  it('reads the export lines provision.sh writes (printf %q quoting)', () => {
    const text = '# comment\nexport MEGANET_ETCD=/a/etcd\nexport MEGANET_KWOK=/with\\ space/kwok\nexport MEGANET_HELM=\'/q/helm\'\nnoise\n'
    expect(parseExports(text)).toEqual({ MEGANET_ETCD: '/a/etcd', MEGANET_KWOK: '/with space/kwok', MEGANET_HELM: '/q/helm' })
  })
})

describe('findBinaries', () => {
  let cache: string
  const fake: Record<string, string> = {}

  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'meganet-binaries-'))
    await mkdir(join(cache, 'bin'))
    for (const name of Object.values(BINARY_ENV)) {
      fake[name] = join(cache, name.toLowerCase())
      await writeFile(fake[name], '#!/bin/sh\n')
      await chmod(fake[name], 0o755)
    }
    const lines = Object.entries(fake).map(([name, path]) => `export ${name}=${path}`)
    await writeFile(join(cache, 'bin', 'env.sh'), `${lines.join('\n')}\n`)
  })

  afterAll(async () => { await rm(cache, { recursive: true, force: true }) })

  it('takes the cached env.sh, with variables from the environment first', async () => {
    const found = await findBinaries({ MEGANET_CACHE: cache, MEGANET_KWOK: fake.MEGANET_ETCD })
    expect(found.etcd).toBe(fake.MEGANET_ETCD)
    expect(found.kubeApiserver).toBe(fake.MEGANET_KUBE_APISERVER)
    expect(found.kwok).toBe(fake.MEGANET_ETCD)
  })
})
