#!/usr/bin/env node
// The `meganet` command. A committed file rather than dist/cli/main.js itself, so that `npm ci`
// links it into node_modules/.bin before anything is built; in a fresh clone its first run
// builds the project.
/* global process, URL */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const main = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(main)) {
  const repository = fileURLToPath(new URL('../..', import.meta.url))
  process.stderr.write('meganet: first run in this clone: building it (npm run build, about a minute) ...\n')
  // The build's output goes to stderr: stdout stays the command's own.
  const build = spawnSync('npm', ['run', 'build'], { cwd: repository, stdio: ['ignore', 2, 2] })
  if (build.status !== 0 || !existsSync(main)) {
    process.stderr.write('meganet: the build failed (its output is above): run `npm ci` in the repository, then `npm run build`\n')
    process.exit(1)
  }
}
await import(main.href)
