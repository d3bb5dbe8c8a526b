#!/usr/bin/env node
// The `meganet` command. A committed file rather than dist/cli/main.js itself, so that `npm ci`
// links it into node_modules/.bin before anything is built.
/* global process, URL */
import { existsSync } from 'node:fs'

const main = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(main)) {
  process.stderr.write('meganet: not built yet: run `npm run build` in the repository first (`npm run devnet` builds too)\n')
  process.exit(1)
}
await import(main.href)
