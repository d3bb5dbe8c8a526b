import { spawn } from 'node:child_process'
import { constants } from 'node:fs'
import { access, readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BinariesNotFoundError } from './errors.js'

/** Builds and caches the binaries; prints `export MEGANET_...=path` lines on stdout. */
export const PROVISION_SCRIPT = fileURLToPath(new URL('./provision.sh', import.meta.url))

/** Paths of the control-plane executables. */
export interface ControlPlaneBinaries {
  readonly etcd: string
  readonly kubeApiserver: string
  readonly kubeControllerManager: string
  readonly kubeScheduler: string
  readonly kwok: string
}

/** The environment variable provision.sh exports for each binary. */
export const BINARY_ENV = {
  etcd: 'MEGANET_ETCD',
  kubeApiserver: 'MEGANET_KUBE_APISERVER',
  kubeControllerManager: 'MEGANET_KUBE_CONTROLLER_MANAGER',
  kubeScheduler: 'MEGANET_KUBE_SCHEDULER',
  kwok: 'MEGANET_KWOK'
} as const satisfies Record<keyof ControlPlaneBinaries, string>

type Env = Readonly<Record<string, string | undefined>>

/** `export NAME=value` lines (values quoted by bash's printf %q) as a map. */
export function parseExports (text: string): Record<string, string> {
  const vars: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (match?.[1] == null || match[2] == null) continue
    let value = match[2]
    if (value.startsWith('\'') && value.endsWith('\'') && value.length >= 2) value = value.slice(1, -1)
    else value = value.replace(/\\(.)/g, '$1')
    vars[match[1]] = value
  }
  return vars
}

async function executable (path: string | undefined): Promise<boolean> {
  if (path == null || path === '') return false
  try {
    await access(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

async function complete (env: Env): Promise<ControlPlaneBinaries | undefined> {
  const entries = Object.entries(BINARY_ENV) as Array<[keyof ControlPlaneBinaries, string]>
  const found: Partial<Record<keyof ControlPlaneBinaries, string>> = {}
  for (const [key, name] of entries) {
    const path = env[name]
    if (!(await executable(path))) return undefined
    found[key] = path
  }
  return found as ControlPlaneBinaries
}

/**
 * Runs one of the scripts that build test tools once into the cache (its progress on stderr, shown)
 * and returns what it printed on stdout.
 */
export async function runToolScript (path: string, args: readonly string[] = [], env: Env = {}): Promise<string> {
  const child = spawn('bash', [path, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  let stdout = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', resolve)
  })
  if (code !== 0) throw new BinariesNotFoundError(`${path} failed with exit code ${code} (its output is above)`)
  return stdout
}

/** Runs provision.sh (builds what is missing: about 15 minutes of two cores cold, under a second warm). */
async function provision (env: Env): Promise<Record<string, string>> {
  return parseExports(await runToolScript(PROVISION_SCRIPT, [], env))
}

/**
 * Finds the binaries: each from its MEGANET_* variable, else from the env.sh that provision.sh
 * wrote under `${MEGANET_CACHE:-~/.cache/meganet}/bin/`, else by running provision.sh, which
 * builds them once from the Go module proxy (about 15 minutes of two cores and 8 GB on a cold
 * cache; the `cluster` project's global setup runs it ahead of the tests, so no test waits for it).
 */
export async function findBinaries (env: Env = process.env): Promise<ControlPlaneBinaries> {
  const fromEnv = await complete(env)
  if (fromEnv != null) return fromEnv
  const cache = env.MEGANET_CACHE ?? join(homedir(), '.cache', 'meganet')
  const envFile = await readFile(join(cache, 'bin', 'env.sh'), 'utf8').catch(() => '')
  const fromFile = await complete({ ...parseExports(envFile), ...definedOnly(env) })
  if (fromFile != null) return fromFile
  const fromScript = await complete({ ...await provision(env), ...definedOnly(env) })
  if (fromScript != null) return fromScript
  throw new BinariesNotFoundError(`${PROVISION_SCRIPT} ran, but not all of ${Object.values(BINARY_ENV).join(', ')} point at executables`)
}

function definedOnly (env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] != null && e[1] !== ''))
}
