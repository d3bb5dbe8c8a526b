import { CoreV1Api } from '@kubernetes/client-node'
import { AnchorProcess } from '../helpers/anchor-process.js'
import type { TestControlPlane } from '../cluster/control-plane.js'

/**
 * kwok pods run nothing, so this test-only harness runs a real anchor process on loopback for
 * every Running pod of a fleet, named after the pod (its membership record carries the pod
 * name the operator matches), and stops it when the pod goes.
 */
export class PodAnchors {
  readonly anchors = new Map<string, AnchorProcess>()
  /** Every anchor stopped because its pod went, with the phase it reported just before. */
  readonly departures: Array<{ readonly pod: string, readonly phase: string }> = []
  private readonly plane: TestControlPlane
  private readonly namespace: string
  private readonly fleet: string
  private readonly flags: Record<string, string>
  private timer?: NodeJS.Timeout
  private syncing?: Promise<void>

  constructor (plane: TestControlPlane, namespace: string, fleet: string, flags: Record<string, string>) {
    this.plane = plane
    this.namespace = namespace
    this.fleet = fleet
    this.flags = flags
  }

  start (): void {
    this.timer = setInterval(() => { this.syncing ??= this.sync().finally(() => { this.syncing = undefined }) }, 300)
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    await this.syncing
    await Promise.all([...this.anchors.values()].map(async a => await a.cleanup()))
  }

  private async sync (): Promise<void> {
    const pods = await this.plane.client(CoreV1Api).listNamespacedPod({
      namespace: this.namespace, labelSelector: `app.kubernetes.io/instance=${this.fleet}`
    }).catch(() => undefined)
    if (pods == null) return
    const running = new Set(pods.items.filter(p => p.status?.phase === 'Running' && p.metadata?.deletionTimestamp == null).map(p => p.metadata?.name ?? ''))
    for (const name of running) {
      if (this.anchors.has(name)) continue
      this.anchors.set(name, await AnchorProcess.start({ flags: { ...this.flags, 'fleet-name': this.fleet, 'fleet-pod': name } }))
    }
    for (const [name, anchor] of this.anchors) {
      if (running.has(name)) continue
      this.anchors.delete(name)
      const status = await anchor.json<{ phase: string }>('/status').catch((err: Error) => ({ phase: `unknown (${err.message})` }))
      this.departures.push({ pod: name, phase: status.phase })
      await anchor.stop('SIGTERM')
      await anchor.cleanup()
    }
  }
}
