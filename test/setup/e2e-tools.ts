import { provideTools } from './tools.js'

/** Global setup of the `e2e` project: the tools that take a minute or two to build cold. */
export default async function setup (): Promise<void> {
  await provideTools([
    { path: 'test/tools/install-nats-server.sh', pathVar: 'MEGANET_NATS_SERVER' },
    { path: 'test/tools/install-go-relay.sh', pathVar: 'MEGANET_GO_RELAY' },
    { path: 'test/tools/install-dashboard-linter.sh', pathVar: 'MEGANET_DASHBOARD_LINTER' }
  ])
}
