import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { BootstrapCache } from './known-fleets.js'

/** A bootstrap cache in a file (Node peers): written whole to a temporary file, then renamed over. */
export function fileBootstrapCache (path: string): BootstrapCache {
  return {
    load: async () => await readFile(path, 'utf8').catch(() => undefined),
    save: async text => {
      await mkdir(dirname(path), { recursive: true })
      await writeFile(`${path}.tmp`, text, { mode: 0o600 })
      await rename(`${path}.tmp`, path)
    }
  }
}
