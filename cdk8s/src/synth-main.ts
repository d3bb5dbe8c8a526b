#!/usr/bin/env node
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chartCrdTemplate, plainManifests } from './synth.js'

/** Where `npm run synth` writes, relative to the repository root. */
export const SYNTH_OUTPUTS = {
  crd: 'charts/meganet/templates/crds/anchorfleets.meganet.io.yaml',
  manifests: 'deploy/manifests/meganet.yaml'
} as const

const root = fileURLToPath(new URL('../../', import.meta.url))
const version = (JSON.parse(await readFile(`${root}operator/package.json`, 'utf8')) as { version: string }).version
const outputs: Record<string, string> = { [SYNTH_OUTPUTS.crd]: chartCrdTemplate(), [SYNTH_OUTPUTS.manifests]: plainManifests(version) }
for (const [path, text] of Object.entries(outputs)) {
  await mkdir(dirname(`${root}${path}`), { recursive: true })
  await writeFile(`${root}${path}`, text)
  process.stdout.write(`wrote ${path}\n`)
}
