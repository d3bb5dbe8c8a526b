import { execFile } from 'node:child_process'
import { constants } from 'node:fs'
import { access, mkdtemp, readFile, rm } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { PROVISION_SCRIPT, parseExports, runToolScript } from '../cluster/binaries.js'

/** The chart under test. */
export const CHART_DIR = fileURLToPath(new URL('../../charts/meganet', import.meta.url))
export const HELM_ENV = 'MEGANET_HELM'

/** A rendered Kubernetes object. */
export interface RenderedObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
  [key: string]: unknown
}

export class HelmError extends Error {
  readonly stderr: string
  constructor (args: readonly string[], stderr: string, options?: { cause?: unknown }) {
    super(`helm ${args.join(' ')} failed: ${stderr.trim()}`, options)
    this.name = 'HelmError'
    this.stderr = stderr
  }
}

/** The path when it names an executable file. */
async function executable (path: string | undefined): Promise<string | undefined> {
  if (path == null || path === '') return undefined
  return await access(path, constants.X_OK).then(() => path, () => undefined)
}

/**
 * The helm binary: `$MEGANET_HELM`, else the one provision.sh recorded in
 * `${MEGANET_CACHE:-~/.cache/meganet}/bin/env.sh`, else provision.sh builds it (once).
 */
export async function findHelm (env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const given = await executable(env[HELM_ENV])
  if (given != null) return given
  const cache = env.MEGANET_CACHE ?? join(homedir(), '.cache', 'meganet')
  const cached = await executable(parseExports(await readFile(join(cache, 'bin', 'env.sh'), 'utf8').catch(() => ''))[HELM_ENV])
  if (cached != null) return cached
  const built = await executable(parseExports(await runToolScript(PROVISION_SCRIPT, [], env))[HELM_ENV])
  if (built != null) return built
  throw new Error(`no helm: set ${HELM_ENV} or run ${PROVISION_SCRIPT}`)
}

async function run (file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv, input?: string } = {}): Promise<{ stdout: string, stderr: string }> {
  return await new Promise((resolve, reject) => {
    const child = execFile(file, args, { env: options.env, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 }, (err, stdout, stderr) => {
      if (err != null) reject(new HelmError(args, `${stderr}${stdout}`, { cause: err }))
      else resolve({ stdout, stderr })
    })
    if (options.input != null) child.stdin?.end(options.input)
  })
}

/** Runs helm with its own HOME (config, cache and the kube discovery cache in a temp dir). */
export class Helm {
  readonly binary: string
  readonly home: string

  private constructor (binary: string, home: string) {
    this.binary = binary
    this.home = home
  }

  static async create (): Promise<Helm> {
    return new Helm(await findHelm(), await mkdtemp(join(tmpdir(), 'meganet-helm-')))
  }

  async run (args: readonly string[]): Promise<string> {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.home, HELM_CACHE_HOME: join(this.home, 'cache'), HELM_CONFIG_HOME: join(this.home, 'config'), HELM_DATA_HOME: join(this.home, 'data') }
    return (await run(this.binary, args, { env })).stdout
  }

  /** `helm template` of the chart, parsed; `args` are extra flags (`--set`, `--api-versions`, ...). */
  async template (args: readonly string[] = [], options: { release?: string, namespace?: string, chart?: string } = {}): Promise<RenderedObject[]> {
    const text = await this.run(['template', options.release ?? 'mn', options.chart ?? CHART_DIR, '--namespace', options.namespace ?? 'mesh', ...args])
    return parseObjects(text)
  }

  async cleanup (): Promise<void> {
    await rm(this.home, { recursive: true, force: true })
  }
}

/** The objects of a multi-document YAML stream, without empty documents. */
export function parseObjects (text: string): RenderedObject[] {
  return parseAllDocuments(text).map(doc => {
    if (doc.errors.length > 0) throw new Error(`invalid YAML from helm: ${doc.errors.map(e => e.message).join('; ')}`)
    return doc.toJS() as RenderedObject | null
  }).filter((o): o is RenderedObject => o != null)
}

/**
 * The object of that kind (and name), typed as the caller says: a client-node model such as
 * `V1Deployment` for built-in kinds (`find<V1Deployment>(objects, 'Deployment')`).
 */
export function find<T = RenderedObject> (objects: readonly RenderedObject[], kind: string, name?: string): T {
  const found = objects.find(o => o.kind === kind && (name == null || o.metadata.name === name))
  if (found == null) throw new Error(`no ${kind}${name != null ? ` ${name}` : ''} among ${objects.map(o => `${o.kind}/${o.metadata.name}`).join(', ')}`)
  return found as unknown as T
}

export function kinds (objects: readonly RenderedObject[]): string[] {
  return [...new Set(objects.map(o => o.kind))].sort()
}
