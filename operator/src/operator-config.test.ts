import { describe, expect, it } from 'vitest'
import { OPERATOR_OPTIONS, OperatorConfigError, loadOperatorConfig, operatorHelp, parseOperatorFlags } from './operator-config.js'

describe('operator configuration', () => {
  it('documents every option in --help, from the one table', () => {
    const help = operatorHelp('1.2.3')
    expect(help).toContain('--health-host')
    for (const option of OPERATOR_OPTIONS) expect(help).toContain(`--${option.key.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)} `)
  })

  it('takes a flag over its env var over the fallback', () => {
    const env = { MEGANET_OPERATOR_LEASE_DURATION: '20s', MEGANET_OPERATOR_HEALTH_HOST: '127.0.0.1', POD_NAMESPACE: 'mesh', POD_NAME: 'op-0' }
    const config = loadOperatorConfig(parseOperatorFlags(['--lease-duration', '30s', '--resync=1m']), env, '1.2.3')
    expect(config).toMatchObject({ leaseDuration: 30_000, resync: 60_000, healthHost: '127.0.0.1', namespace: 'mesh', identity: 'op-0', image: 'ghcr.io/meganet/meganet:1.2.3' })
  })

  it('refuses a wrong flag or value in one line naming it', () => {
    expect(() => parseOperatorFlags(['--lease-duraton', '5s'])).toThrow(new OperatorConfigError('unknown flag --lease-duraton: see --help for the options'))
    expect(() => parseOperatorFlags(['--resync'])).toThrow('--resync needs a value')
    const bad = ((): string => {
      try {
        loadOperatorConfig({ 'lease-duration': 'soon' }, {}, '1')
      } catch (err) {
        return (err as Error).message
      }
      return 'accepted'
    })()
    expect(bad).toMatch(/^invalid operator configuration: --lease-duration \(MEGANET_OPERATOR_LEASE_DURATION\): expected a duration/)
    expect(bad).not.toContain('\n')
  })
})
