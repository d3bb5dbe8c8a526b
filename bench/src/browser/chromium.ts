import { execFileSync } from 'node:child_process'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'
import type { TestNetwork } from './netns.js'

/** Debian's chromium (`.ci/run` installs it): $MEGANET_CHROMIUM, or the one on PATH. */
export function chromiumPath (): string {
  const fromEnv = process.env.MEGANET_CHROMIUM
  if (fromEnv != null && fromEnv !== '') return fromEnv
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error('chromium not found: install Debian\'s chromium package (.ci/run does) or set MEGANET_CHROMIUM')
  }
}

export interface ChromiumOptions {
  /** Run the browser inside this network namespace. */
  readonly network?: TestNetwork
  /** SubjectPublicKeyInfo hashes of test certificates to trust (WSS). */
  readonly trustSpki?: readonly string[]
  /**
   * http:// origins to treat as secure: browsers give WebCrypto (which the peer library needs)
   * only to https:// and localhost pages, and the test serves the app over http on a veth address.
   */
  readonly secureOrigins?: readonly string[]
}

/** Real headless Chromium driven by playwright-core (no browser download: Debian's binary). */
export async function launchChromium (options: ChromiumOptions = {}): Promise<Browser> {
  const binary = chromiumPath()
  const executablePath = options.network != null ? await options.network.wrap(binary) : binary
  return await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-dev-shm-usage',
      // ICE host candidates as IP addresses, not mDNS names nobody here resolves.
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      ...(options.trustSpki != null && options.trustSpki.length > 0 ? [`--ignore-certificate-errors-spki-list=${options.trustSpki.join(',')}`] : []),
      ...(options.secureOrigins != null && options.secureOrigins.length > 0 ? [`--unsafely-treat-insecure-origin-as-secure=${options.secureOrigins.join(',')}`] : [])
    ]
  })
}
