import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { chartCrdTemplate, plainManifests } from './synth.js'

const root = new URL('../../', import.meta.url)

describe('npm run synth output', () => {
  it('is up to date in the chart and in deploy/manifests (run `npm run synth` when this fails)', async () => {
    const version = (JSON.parse(await readFile(new URL('operator/package.json', root), 'utf8')) as { version: string }).version
    expect(await readFile(new URL('charts/meganet/templates/crds/anchorfleets.meganet.io.yaml', root), 'utf8')).toBe(chartCrdTemplate())
    expect(await readFile(new URL('deploy/manifests/meganet.yaml', root), 'utf8')).toBe(plainManifests(version))
  })

  it('keeps the CRD behind crds.enabled and adds the keep policy only with crds.keep', () => {
    const template = chartCrdTemplate()
    expect(template).toMatch(/^# Generated[^\n]*\n\{\{- if \.Values\.crds\.enabled \}\}\n/)
    expect(template).toContain('{{- if .Values.crds.keep }}\n  annotations:\n    helm.sh/resource-policy: keep\n{{- end }}')
    expect(template).toContain('x-kubernetes-validations')
  })
})
