import { describe, expect, it } from 'vitest'
import { DefaultFleetError, parseDefaultFleet, sizeOnly, withoutSize } from './default-fleet.js'

const fleet = {
  apiVersion: 'meganet.io/v1alpha1',
  kind: 'AnchorFleet',
  metadata: { name: 'meganet', namespace: 'mesh' },
  spec: { replicas: 3, region: 'local', nats: { url: 'nats://nats:4222' }, relay: { maxReservationsPerIp: 16 } }
}

describe('the chart\'s default fleet', () => {
  it('is read as written (no defaults added: the chart must not own fields it never set)', () => {
    expect(parseDefaultFleet(JSON.stringify(fleet), 'fleet.json')).toEqual(fleet)
  })

  it('sets its size only at creation, through a second owner', () => {
    expect(withoutSize(parseDefaultFleet(JSON.stringify(fleet), 'f')).spec).toEqual({ region: 'local', nats: { url: 'nats://nats:4222' }, relay: { maxReservationsPerIp: 16 } })
    expect(sizeOnly(parseDefaultFleet(JSON.stringify(fleet), 'f'))).toEqual({
      apiVersion: 'meganet.io/v1alpha1', kind: 'AnchorFleet', metadata: { name: 'meganet', namespace: 'mesh' }, spec: { replicas: 3 }
    })
  })

  it('refuses what is not an AnchorFleet the CRD would take, in one line naming the field', () => {
    const refuse = (text: string): string => {
      try {
        parseDefaultFleet(text, 'fleet.json')
      } catch (err) {
        expect(err).toBeInstanceOf(DefaultFleetError)
        return (err as Error).message
      }
      throw new Error('accepted')
    }
    expect(refuse('{')).toMatch(/^fleet\.json is not JSON .*render it with helm template$/)
    expect(refuse(JSON.stringify({ ...fleet, kind: 'Pod' }))).toMatch(/is not an meganet\.io\/v1alpha1 AnchorFleet/)
    expect(refuse(JSON.stringify({ ...fleet, metadata: { name: 'x' } }))).toMatch(/needs metadata\.name and metadata\.namespace/)
    const bad = refuse(JSON.stringify({ ...fleet, spec: { ...fleet.spec, replicas: -1 } }))
    expect(bad).toMatch(/^fleet\.json: spec\.replicas: .*fix defaultFleet\.\* in the chart's values$/)
    expect(bad).not.toContain('\n')
  })
})
