#!/usr/bin/env node
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chartCrdTemplate, plainManifests } from './synth.js'

/** Where `npm run synth` writes, relative to the repository root. */
const SYNTH_OUTPUTS = {
  crd: 'charts/meganet/templates/crds/anchorfleets.meganet.io.yaml',
  manifests: 'deploy/manifests/meganet.yaml'
} as const

/** Source folder → chart folder, copied verbatim. */
const CHART_COPIES = {
  dashboards: 'charts/meganet/files/dashboards',
  'dashboards/alerts': 'charts/meganet/files/alerts'
} as const

/** Dashboards and rule files; not the promtool unit tests of the rules. */
function isChartFile (name: string): boolean {
  return (name.endsWith('.json') || name.endsWith('.yaml')) && !name.endsWith('.test.yaml')
}

const root = fileURLToPath(new URL('../../', import.meta.url))
const version = (JSON.parse(await readFile(`${root}operator/package.json`, 'utf8')) as { version: string }).version
const outputs: Record<string, string> = { [SYNTH_OUTPUTS.crd]: chartCrdTemplate(), [SYNTH_OUTPUTS.manifests]: plainManifests(version) }
// Helm reads files only from inside the chart: the dashboards and alert rules are copied in.
for (const [from, to] of Object.entries(CHART_COPIES)) {
  await rm(`${root}${to}`, { recursive: true, force: true })
  for (const name of await readdir(`${root}${from}`).catch(() => [] as string[])) {
    if (isChartFile(name)) outputs[`${to}/${name}`] = await readFile(`${root}${from}/${name}`, 'utf8')
  }
}
for (const [path, text] of Object.entries(outputs)) {
  await mkdir(dirname(`${root}${path}`), { recursive: true })
  await writeFile(`${root}${path}`, text)
  process.stdout.write(`wrote ${path}\n`)
}
