import { execFile } from 'node:child_process'
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { CoreV1Api, DiscoveryV1Api, StorageV1Api } from '@kubernetes/client-node'
import { parseExports, runToolScript } from './binaries.js'
import { logTail, Component } from './component.js'
import { ApiServerRelay, NodeNetwork } from './node-network.js'
import { freePorts } from './ports.js'
import { waitFor } from './probe.js'
import type { TestControlPlane } from './control-plane.js'

const run = promisify(execFile)

export const PROVISION_NODE_SCRIPT = fileURLToPath(new URL('./provision-node.sh', import.meta.url))
export const BUILD_IMAGES_SCRIPT = fileURLToPath(new URL('../images/build-images.sh', import.meta.url))

/** The StorageClass of the node's static local volumes (WaitForFirstConsumer; fsGroup applies to `local` volumes). */
export const NODE_STORAGE_CLASS = 'meganet-node-local'
/** Pods of the node get addresses from this range, inside the node's namespace only. */
export const NODE_POD_CIDR = '10.252.0.0/24'

/** Paths of the node's binaries (provision-node.sh) and its images' archives (build-images.sh). */
export interface NodeArtifacts {
  readonly kubelet: string
  readonly kubeProxy: string
  readonly coredns: string
  /** docker archives to import into containerd. */
  readonly imageArchives: readonly string[]
  readonly pauseImage: string
  /** The project image (ghcr.io/meganet/meganet:<appVersion>, the chart's default). */
  readonly appImage: string
}

export interface KubeletNodeOptions {
  readonly artifacts?: NodeArtifacts
  /** Static local PersistentVolumes to create (each `volumeSize`). @default 12 */
  readonly volumes?: number
  /** @default '20Gi' */
  readonly volumeSize?: string
  /** @default 180_000 */
  readonly timeoutMs?: number
}

/** The node's status as a reason a test step cannot run here, or undefined when it can. */
export async function kubeletNodeUnavailable (): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'a real kubelet node needs root (network namespaces, mounts, cgroups)'
  for (const tool of ['containerd', 'ctr', 'runc', 'nsenter', 'iptables', 'ip']) {
    const found = await run('sh', ['-c', `command -v ${tool}`]).then(() => true, () => false)
    if (!found) return `${tool} is not installed (apt-get install containerd runc containernetworking-plugins iptables iproute2)`
  }
  const bridge = await readFile('/usr/lib/cni/bridge').then(() => true, () => false)
  if (!bridge) return 'the CNI bridge plugin is missing (apt-get install containernetworking-plugins)'
  return undefined
}

/**
 * The node's binaries and image archives, from the scripts that build them (once: slow on a cold
 * cache, and the `cluster` project's global setup runs them ahead of the tests). Both run every time, since they take seconds
 * when nothing changed: the project image is keyed by the source, so a test never runs a stale one.
 */
export async function findNodeArtifacts (env: NodeJS.ProcessEnv = process.env): Promise<NodeArtifacts> {
  const script = async (path: string, args: string[] = []): Promise<Record<string, string>> => parseExports(await runToolScript(path, args, env))
  const bins = { ...await script(PROVISION_NODE_SCRIPT, ['node']), ...definedOnly(env) }
  const images = await script(BUILD_IMAGES_SCRIPT)
  const need = (vars: Record<string, string>, name: string): string => {
    const value = vars[name]
    if (value == null || value === '') throw new Error(`${name} is unknown: run ${PROVISION_NODE_SCRIPT} and ${BUILD_IMAGES_SCRIPT}`)
    return value
  }
  return {
    kubelet: need(bins, 'MEGANET_KUBELET'),
    kubeProxy: need(bins, 'MEGANET_KUBE_PROXY'),
    coredns: need(bins, 'MEGANET_COREDNS'),
    pauseImage: need(images, 'MEGANET_IMAGE_PAUSE'),
    appImage: need(images, 'MEGANET_IMAGE_APP'),
    imageArchives: ['APP', 'NATS', 'NATS_RELOADER', 'NATS_EXPORTER', 'PAUSE'].map(k => need(images, `MEGANET_IMAGE_${k}_ARCHIVE`))
  }
}

function definedOnly (env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] != null && e[1] !== '' && e[0].startsWith('MEGANET_')))
}

const CGROUP_ROOT = '/sys/fs/cgroup'

/**
 * A real Kubernetes node joined to a {@link TestControlPlane}: containerd (Debian) with runc and
 * the CNI bridge, host-local and portmap plugins, a kubelet, kube-proxy (iptables) and CoreDNS
 * (cluster DNS), all inside the node's own network namespace (node-network.ts). Its pods run
 * real processes from the images build-images.sh made, imported into containerd. Volumes are
 * static `local` PersistentVolumes in the node's dir (StorageClass {@link NODE_STORAGE_CLASS}).
 *
 * This machine's facts, written into the configs: cgroup v1 (hybrid), so the kubelet needs
 * `failCgroupV1: false` and the cgroupfs driver (no systemd); Debian's containerd 1.6 lacks the
 * RuntimeConfig RPC, so kubelet 1.37 falls back to that configured driver; nothing may raise
 * rlimits here, and containerd's default spec only lowers them.
 */
export class KubeletNode {
  readonly name: string
  readonly dir: string
  readonly network: NodeNetwork
  /** The node's address, as the host dials it (NodePort, HostPort). */
  readonly ip: string
  private readonly plane: TestControlPlane
  private readonly relay: ApiServerRelay
  private readonly components: Component[] = []
  private readonly cgroupRoot: string
  private stopped = false

  private constructor (plane: TestControlPlane, network: NodeNetwork, relay: ApiServerRelay, dir: string) {
    this.plane = plane
    this.network = network
    this.relay = relay
    this.dir = dir
    this.ip = network.nodeIp
    this.name = `node-${network.name}`
    this.cgroupRoot = `/${network.name}`
  }

  get containerdSocket (): string { return join(this.dir, 'containerd', 'containerd.sock') }

  static async start (plane: TestControlPlane, options: KubeletNodeOptions = {}): Promise<KubeletNode> {
    const unavailable = await kubeletNodeUnavailable()
    if (unavailable != null) throw new Error(unavailable)
    const artifacts = options.artifacts ?? await findNodeArtifacts()
    const network = await NodeNetwork.create()
    let relay: ApiServerRelay | undefined
    let node: KubeletNode | undefined
    try {
      relay = await ApiServerRelay.start(network.hostIp, plane.ports.apiServer)
      const dir = join(plane.dir, network.name)
      await mkdir(dir, { recursive: true })
      node = new KubeletNode(plane, network, relay, dir)
      await node.boot(artifacts, options)
      return node
    } catch (err) {
      if (node != null) await node.stop()
      else {
        await relay?.stop()
        await network.remove()
      }
      throw err
    }
  }

  private async boot (artifacts: NodeArtifacts, options: KubeletNodeOptions): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 180_000
    const d = (...parts: string[]): string => join(this.dir, ...parts)
    for (const sub of ['containerd', 'cni/net.d', 'cni/ipam', 'kubelet', 'volumes', 'pki']) await mkdir(d(sub), { recursive: true })
    // Pods (uid 1000) must traverse to their local volumes.
    await chmod(this.plane.dir, 0o755)
    await chmod(this.dir, 0o755)
    await this.makeCgroupRoot()
    const kubeconfig = await this.writeNodeKubeconfig()
    const [kubeletPort, kubeletHealth, proxyHealth, proxyMetrics, dnsHealth, dnsReady] = await freePorts(6) as [number, number, number, number, number, number]

    // containerd + CNI
    await writeFile(d('cni/net.d/10-meganet.conflist'), JSON.stringify({
      cniVersion: '1.0.0',
      name: this.network.name,
      plugins: [
        { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: NODE_POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: d('cni/ipam') } },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true }
      ]
    }, null, 2))
    await writeFile(d('containerd/config.toml'), `version = 2
root = "${d('containerd/root')}"
state = "${d('containerd/state')}"
[grpc]
  address = "${this.containerdSocket}"
[ttrpc]
  address = "${d('containerd/ttrpc.sock')}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${artifacts.pauseImage}"
  disable_apparmor = true
  restrict_oom_score_adj = true
  # The pods' network namespaces under this node's dir, not /var/run/netns: stop() unmounts them
  # with the rest, where otherwise each pod's cni-* namespace outlived the node.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${d('containerd/runc')}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${d('cni/net.d')}"
`)
    await this.startComponent('containerd', 'containerd', ['--config', d('containerd/config.toml')], async () =>
      await run('ctr', ['--address', this.containerdSocket, 'version']).then(() => true, () => false), timeoutMs)
    for (const archive of artifacts.imageArchives) {
      await run('ctr', ['--address', this.containerdSocket, '-n', 'k8s.io', 'images', 'import', '--no-unpack', archive], { maxBuffer: 16 * 1024 * 1024 })
    }

    // The API server for pods: the `kubernetes` Service's endpoints are the relay (the test
    // control plane runs with --endpoint-reconciler-type=none).
    await this.publishApiServer()

    // CoreDNS: cluster DNS on the node's address.
    await writeFile(d('Corefile'), `.:53 {
    errors
    health 127.0.0.1:${dnsHealth}
    ready 127.0.0.1:${dnsReady}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
`)
    await this.startComponent('coredns', artifacts.coredns, ['-conf', d('Corefile')], async () =>
      await this.netGet(`http://127.0.0.1:${dnsReady}/ready`), timeoutMs)

    // kubelet
    await writeFile(d('resolv.conf'), `nameserver ${this.ip}\n`)
    await writeFile(d('kubelet.yaml'), JSON.stringify({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: this.cgroupRoot,
      containerRuntimeEndpoint: `unix://${this.containerdSocket}`,
      address: this.ip,
      port: kubeletPort,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: kubeletHealth,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: this.plane.certificates.caCert } },
      authorization: { mode: 'AlwaysAllow' },
      clusterDNS: [this.ip],
      clusterDomain: 'cluster.local',
      resolvConf: d('resolv.conf'),
      failSwapOn: false,
      // Mounted ConfigMaps (anchor announce addresses) reach pods within a sync.
      syncFrequency: '10s',
      evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      serializeImagePulls: false,
      maxPods: 60,
      podPidsLimit: -1,
      rotateCertificates: false,
      registerNode: true
    }, null, 2))
    await this.startComponent('kubelet', artifacts.kubelet, [
      '--config', d('kubelet.yaml'), '--kubeconfig', kubeconfig, '--root-dir', d('kubelet'), '--cert-dir', d('pki'),
      '--node-ip', this.ip, '--hostname-override', this.name, '--v', '2'
    ], async () => await this.netGet(`http://127.0.0.1:${kubeletHealth}/healthz`), timeoutMs)
    const core = this.plane.client(CoreV1Api)
    await waitFor(`node ${this.name} registered with its address`, async () => {
      const node = await core.readNode({ name: this.name }).catch(() => undefined)
      return node?.status?.addresses?.some(a => a.type === 'InternalIP' && a.address === this.ip) === true ? true : undefined
    }, timeoutMs)
    // kube-proxy: ClusterIPs and NodePorts (only on the node's address) with iptables, in the
    // namespace. After the Node exists: kube-proxy exits when the node's IPs change under it.
    await this.startComponent('kube-proxy', artifacts.kubeProxy, [
      '--kubeconfig', kubeconfig, '--hostname-override', this.name, '--proxy-mode', 'iptables',
      '--cluster-cidr', NODE_POD_CIDR, '--nodeport-addresses', `${this.ip}/32`, '--conntrack-max-per-core', '0',
      '--healthz-bind-address', `127.0.0.1:${proxyHealth}`, '--metrics-bind-address', `127.0.0.1:${proxyMetrics}`, '--v', '2'
    ], async () => await this.netGet(`http://127.0.0.1:${proxyHealth}/livez`), timeoutMs)

    await waitFor(`node ${this.name} Ready`, async () => {
      const node = await core.readNode({ name: this.name }).catch(() => undefined)
      return node?.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True') === true ? true : undefined
    }, timeoutMs)
    await this.createVolumes(options.volumes ?? 12, options.volumeSize ?? '20Gi')
  }

  /** An http GET from inside the node's namespace; true on 200. */
  private async netGet (url: string): Promise<boolean> {
    return await run('nsenter', [...this.network.enter, 'curl', '-fsS', '-m', '2', '-o', '/dev/null', url]).then(() => true, () => false)
  }

  private async startComponent (name: string, binary: string, args: string[], ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    this.components.push(await Component.start({
      name, binary: 'nsenter', args: [...this.network.enter, binary, ...args], logPath: join(this.dir, `${name}.log`), ready
    }, timeoutMs))
  }

  /** The admin kubeconfig, pointed at the relay and verifying the serving certificate as 127.0.0.1. */
  private async writeNodeKubeconfig (): Promise<string> {
    const path = join(this.dir, 'node.kubeconfig')
    const text = this.plane.kubeconfig.replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://${this.relay.host}:${this.relay.port}\n    tls-server-name: 127.0.0.1`)
    await writeFile(path, text, { mode: 0o600 })
    return path
  }

  private async publishApiServer (): Promise<void> {
    const discovery = this.plane.client(DiscoveryV1Api)
    await discovery.createNamespacedEndpointSlice({
      namespace: 'default',
      body: {
        metadata: { name: 'kubernetes-meganet-node', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'meganet-test-node' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: [this.relay.host], conditions: { ready: true } }],
        ports: [{ name: 'https', port: this.relay.port, protocol: 'TCP' }]
      }
    }).catch(async (err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err
      await discovery.replaceNamespacedEndpointSlice({
        name: 'kubernetes-meganet-node', namespace: 'default',
        body: {
          metadata: { name: 'kubernetes-meganet-node', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'meganet-test-node' } },
          addressType: 'IPv4', endpoints: [{ addresses: [this.relay.host], conditions: { ready: true } }], ports: [{ name: 'https', port: this.relay.port, protocol: 'TCP' }]
        }
      })
    })
  }

  /** Static `local` volumes on this node, and their WaitForFirstConsumer StorageClass. */
  private async createVolumes (count: number, size: string): Promise<void> {
    const storage = this.plane.client(StorageV1Api)
    await storage.createStorageClass({
      body: { metadata: { name: NODE_STORAGE_CLASS }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer', reclaimPolicy: 'Retain' }
    }).catch((err: unknown) => { if ((err as { code?: number }).code !== 409) throw err })
    const core = this.plane.client(CoreV1Api)
    for (let i = 0; i < count; i++) {
      const path = join(this.dir, 'volumes', `pv-${i}`)
      await mkdir(path, { recursive: true })
      await core.createPersistentVolume({
        body: {
          metadata: { name: `${this.name}-pv-${i}`, labels: { 'meganet.io/test-node': this.name } },
          spec: {
            capacity: { storage: size },
            accessModes: ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: 'Retain',
            storageClassName: NODE_STORAGE_CLASS,
            local: { path },
            nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [this.name] }] }] } }
          }
        }
      })
    }
  }

  /** A cgroup parent of its own in every v1 hierarchy, removed with the node. */
  private async makeCgroupRoot (): Promise<void> {
    const { stdout } = await run('sh', ['-c', `ls ${CGROUP_ROOT}`])
    for (const controller of stdout.split('\n').map(s => s.trim()).filter(s => s !== '' && s !== 'unified')) {
      await mkdir(join(CGROUP_ROOT, controller, this.cgroupRoot), { recursive: true }).catch(() => {})
    }
  }

  /** The end of one component's log, for failure messages. */
  async logTail (name: string, lines = 40): Promise<string> {
    return await logTail(join(this.dir, `${name}.log`), lines)
  }

  /** Runs a program of this machine inside the node's network namespace: a client on the node, outside every pod. */
  async run (binary: string, args: readonly string[], options: { cwd?: string } = {}): Promise<string> {
    const { stdout } = await run('nsenter', [...this.network.enter, binary, ...args], { maxBuffer: 16 * 1024 * 1024, ...options })
    return stdout
  }

  /** Runs `ctr` against the node's containerd. */
  async ctr (args: readonly string[]): Promise<string> {
    const { stdout } = await run('ctr', ['--address', this.containerdSocket, '-n', 'k8s.io', ...args], { maxBuffer: 16 * 1024 * 1024 })
    return stdout
  }

  /**
   * Deletes the Node and its volumes, stops the kubelet (and so no new pods), removes every pod
   * sandbox through containerd, stops kube-proxy, CoreDNS and containerd, unmounts what the
   * kubelet mounted, and deletes the namespace. Idempotent.
   */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    const core = this.plane.client(CoreV1Api)
    await core.deleteNode({ name: this.name }).catch(() => {})
    const pvs = await core.listPersistentVolume({ labelSelector: `meganet.io/test-node=${this.name}` }).catch(() => undefined)
    for (const pv of pvs?.items ?? []) await core.deletePersistentVolume({ name: pv.metadata?.name ?? '' }).catch(() => {})
    const byName = (name: string): Component | undefined => this.components.find(c => c.name === name)
    await byName('kubelet')?.stop(5_000)
    // Every container, then every sandbox: the shims would otherwise outlive containerd.
    await this.killTasks()
    for (const name of ['kube-proxy', 'coredns', 'containerd']) await byName(name)?.stop(5_000)
    // Whatever containerd did not reap (a shim killed with it) still sits in the node's cgroups.
    await this.killCgroupProcesses()
    await run('sh', ['-c', `grep -o ' ${this.dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]).catch(() => {})
    await this.relay.stop()
    await this.network.remove()
    await this.removeCgroupRoot()
    await rm(this.dir, { recursive: true, force: true }).catch(() => {})
  }

  private async killTasks (): Promise<void> {
    const tasks = await this.ctr(['tasks', 'list', '-q']).catch(() => '')
    for (const id of tasks.split('\n').map(s => s.trim()).filter(Boolean)) {
      await this.ctr(['tasks', 'kill', '-s', 'SIGKILL', id]).catch(() => {})
    }
    for (let i = 0; i < 50; i++) {
      const left = (await this.ctr(['tasks', 'list']).catch(() => '')).split('\n').filter(l => / RUNNING| PAUSED/.test(l))
      if (left.length === 0) break
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    for (const id of tasks.split('\n').map(s => s.trim()).filter(Boolean)) {
      await this.ctr(['tasks', 'delete', '-f', id]).catch(() => {})
    }
  }

  private async killCgroupProcesses (): Promise<void> {
    const script = `find ${CGROUP_ROOT}/*/${this.cgroupRoot.slice(1)} -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | xargs -r kill -9 2>/dev/null; true`
    await run('sh', ['-c', script]).catch(() => {})
  }

  private async removeCgroupRoot (): Promise<void> {
    // Depth first: rmdir only removes empty cgroups, and the last processes may still be exiting.
    const name = this.cgroupRoot.slice(1)
    const script = `for c in ${CGROUP_ROOT}/*/; do d="$c${name}"; [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \\; 2>/dev/null; done; ! ls -d ${CGROUP_ROOT}/*/${name} >/dev/null 2>&1`
    for (let attempt = 0; attempt < 60; attempt++) {
      if (await run('sh', ['-c', script]).then(() => true, () => false)) return
      await new Promise(resolve => setTimeout(resolve, 500))
    }
  }
}
