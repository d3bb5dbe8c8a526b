import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CoreV1Api } from '@kubernetes/client-node'
import { fleetNames } from '../../cdk8s/src/fleet-workload.js'
import { AnchorProcess } from '../helpers/anchor-process.js'
import type { TestControlPlane } from '../cluster/control-plane.js'

/**
 * How long a departing pod's anchor may take to exit after SIGTERM before it is killed, as the
 * kubelet does after the pod's grace period. Without it one anchor that never exits would hold
 * up every later sync: no replacement pod would ever get its anchor.
 */
const STOP_GRACE_MS = 30_000

export interface PodAnchorsOptions {
  /**
   * Keys of the anchor config the operator rendered for the fleet (its ConfigMap) that each
   * anchor also gets, in a config file as a pod would: read when the pod's anchor starts.
   */
  readonly configKeys?: readonly string[]
}

/**
 * kwok pods run nothing, so this test-only harness runs a real anchor process on loopback for
 * every Running pod of a fleet, named after the pod (its membership record carries the pod
 * name the operator matches), and stops it when the pod goes or is replaced (a rolled
 * StatefulSet: same name, new pod).
 */
export class PodAnchors {
  readonly anchors = new Map<string, AnchorProcess>()
  /** Every anchor stopped because its pod went, with the phase it reported just before. */
  readonly departures: Array<{ readonly pod: string, readonly phase: string }> = []
  /** Anchors that had not exited {@link STOP_GRACE_MS} after SIGTERM, with their last log lines. */
  readonly killedAfterGrace: Array<{ readonly pod: string, readonly logs: readonly string[] }> = []
  private readonly plane: TestControlPlane
  private readonly namespace: string
  private readonly fleet: string
  private readonly flags: Record<string, string>
  private readonly options: PodAnchorsOptions
  /** The pod each anchor runs for, by UID. */
  private readonly uids = new Map<string, string>()
  private configDir?: string
  private timer?: NodeJS.Timeout
  private syncing?: Promise<void>
  /** What the current sync is doing, and why the last one failed: for a failing test's message. */
  private doing = 'idle'
  /** Syncs that threw (an anchor that would not start, an API call that failed), when and why. */
  readonly syncErrors: string[] = []

  constructor (plane: TestControlPlane, namespace: string, fleet: string, flags: Record<string, string>, options: PodAnchorsOptions = {}) {
    this.plane = plane
    this.namespace = namespace
    this.fleet = fleet
    this.flags = flags
    this.options = options
  }

  start (): void {
    this.timer = setInterval(() => {
      this.syncing ??= this.sync()
        .catch((err: Error) => { this.syncErrors.push(`${new Date().toISOString()} while ${this.doing}: ${err.message}`) })
        .finally(() => { this.syncing = undefined; this.doing = 'idle' })
    }, 300)
  }

  /** The harness's state in one line: which pods have anchors, what it is doing, who left and how. */
  describe (): string {
    const anchors = [...this.anchors].map(([pod, a]) => `${pod} (uid ${this.uids.get(pod)?.slice(0, 8) ?? '?'}, ${a.peerId.slice(-6)}, ${a.anchor.running ? 'running' : 'exited'})`)
    return [
      `harness ${this.doing}`,
      `anchors: ${anchors.join(', ') || 'none'}`,
      `departures: ${this.departures.map(d => `${d.pod} (${d.phase})`).join(', ') || 'none'}`,
      ...this.killedAfterGrace.map(k => `${k.pod} killed after ${STOP_GRACE_MS} ms; its last logs: ${k.logs.join(' | ')}`),
      ...this.syncErrors.slice(-3).map(e => `failed sync: ${e}`)
    ].join('; ')
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    await this.syncing
    await Promise.all([...this.anchors.values()].map(async a => await a.cleanup()))
    if (this.configDir != null) await rm(this.configDir, { recursive: true, force: true })
  }

  /** A config file with the chosen keys of the fleet's rendered anchor config, if it has any of them. */
  private async configFile (pod: string): Promise<Record<string, string>> {
    const keys = this.options.configKeys ?? []
    if (keys.length === 0) return {}
    const configMap = await this.plane.client(CoreV1Api).readNamespacedConfigMap({ name: fleetNames(this.fleet).config, namespace: this.namespace })
    const rendered = JSON.parse(configMap.data?.['anchor.json'] ?? '{}') as Record<string, unknown>
    const chosen = Object.fromEntries(keys.filter(k => rendered[k] !== undefined).map(k => [k, rendered[k]]))
    if (Object.keys(chosen).length === 0) return {}
    this.configDir ??= await mkdtemp(join(tmpdir(), 'meganet-pod-config-'))
    const file = join(this.configDir, `${pod}.json`)
    await writeFile(file, JSON.stringify(chosen))
    return { config: file }
  }

  private async sync (): Promise<void> {
    this.doing = 'listing pods'
    const pods = await this.plane.client(CoreV1Api).listNamespacedPod({
      namespace: this.namespace, labelSelector: `app.kubernetes.io/instance=${this.fleet}`
    }).catch(() => undefined)
    if (pods == null) return
    const running = new Map(pods.items.filter(p => p.status?.phase === 'Running' && p.metadata?.deletionTimestamp == null).map(p => [p.metadata?.name ?? '', p.metadata?.uid ?? '']))
    for (const [name, uid] of running) {
      if (this.anchors.has(name)) continue
      this.doing = `starting the anchor of ${name}`
      const config = await this.configFile(name)
      this.anchors.set(name, await AnchorProcess.start({ flags: { ...this.flags, ...config, 'fleet-name': this.fleet, 'fleet-pod': name } }))
      this.uids.set(name, uid)
    }
    // A pod gone, or replaced under its name: its anchor goes (a replacement starts at the next sync).
    for (const [name, anchor] of this.anchors) {
      if (running.get(name) === this.uids.get(name)) continue
      this.doing = `stopping the anchor of ${name}`
      const status = await anchor.json<{ phase: string }>('/status').catch((err: Error) => ({ phase: `unknown (${err.message})` }))
      // Together, after the await: a test that sees the anchor gone also sees its departure.
      this.anchors.delete(name)
      this.uids.delete(name)
      this.departures.push({ pod: name, phase: status.phase })
      await this.stopWithin(name, anchor)
    }
  }

  /** SIGTERM, and SIGKILL once {@link STOP_GRACE_MS} has passed. */
  private async stopWithin (pod: string, anchor: AnchorProcess): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const graceOver = new Promise<false>(resolve => { timer = setTimeout(() => { resolve(false) }, STOP_GRACE_MS) })
    const exited = await Promise.race([anchor.stop('SIGTERM').then(() => true), graceOver])
    clearTimeout(timer)
    if (!exited) this.killedAfterGrace.push({ pod, logs: anchor.logs.slice(-20) })
    await anchor.cleanup()
  }
}
