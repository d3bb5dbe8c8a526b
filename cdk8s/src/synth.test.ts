import { readFile, readdir } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { chartCrdTemplate, plainManifests } from './synth.js'

const root = new URL('../../', import.meta.url)

describe('npm run synth output', () => {
  it('is up to date in the chart and in deploy/manifests (run `npm run synth` when this fails)', async () => {
    const version = (JSON.parse(await readFile(new URL('operator/package.json', root), 'utf8')) as { version: string }).version
    expect(await readFile(new URL('charts/meganet/templates/crds/anchorfleets.meganet.io.yaml', root), 'utf8')).toBe(chartCrdTemplate())
    expect(await readFile(new URL('deploy/manifests/meganet.yaml', root), 'utf8')).toBe(plainManifests(version))
  })

  it('has copies of the dashboards and alert rules in the chart that match their sources', async () => {
    for (const [from, to] of [['dashboards', 'charts/meganet/files/dashboards'], ['dashboards/alerts', 'charts/meganet/files/alerts']] as const) {
      const sources = (await readdir(new URL(from, root)).catch(() => [] as string[]))
        .filter(n => (n.endsWith('.json') || n.endsWith('.yaml')) && !n.endsWith('.test.yaml')).sort()
      const copies = (await readdir(new URL(to, root)).catch(() => [] as string[])).sort()
      expect(copies).toEqual(sources)
      for (const name of sources) {
        expect(await readFile(new URL(`${to}/${name}`, root), 'utf8')).toBe(await readFile(new URL(`${from}/${name}`, root), 'utf8'))
      }
    }
  })

  it('keeps the CRD behind crds.enabled and adds the keep policy only with crds.keep', () => {
    const template = chartCrdTemplate()
    expect(template).toMatch(/^# Generated[^\n]*\n\{\{- if \.Values\.crds\.enabled \}\}\n/)
    expect(template).toContain('{{- if .Values.crds.keep }}\n  annotations:\n    helm.sh/resource-policy: keep\n{{- end }}')
    expect(template).toContain('x-kubernetes-validations')
  })
})
