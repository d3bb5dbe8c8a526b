import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'

/** The few page globals the functions below use inside the page (the test program has no DOM types). */
interface PageElement { readonly value?: string, readonly hidden?: boolean, readonly firstChild: { readonly textContent: string | null } | null }
declare const document: { getElementById: (id: string) => PageElement | null, querySelectorAll: (selector: string) => ArrayLike<PageElement> & Iterable<PageElement> }
declare const window: { meganetApp: unknown, dispatchEvent: (event: unknown) => void }
declare const Event: new (type: string) => unknown

/** Where the tests save the web app's screenshots for a reviewer. */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url))

/** The web app in one browser context (its own localStorage, so its own PeerId), driven through its UI. */
export class AppPage {
  readonly page: Page
  readonly errors: string[] = []
  private readonly context: BrowserContext

  private constructor (context: BrowserContext, page: Page) {
    this.context = context
    this.page = page
    page.on('pageerror', err => { this.errors.push(err.message) })
  }

  static async open (browser: Browser, url: string): Promise<AppPage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 })
    // Chromium gathers ICE candidates on every interface only for pages with media permission;
    // otherwise only on the default route's, and the test namespace has no default route.
    await context.grantPermissions(['camera', 'microphone'], { origin: new URL(url).origin })
    if (process.env.MEGANET_PAGE_DEBUG != null) await context.addInitScript(`localStorage.setItem('debug', ${JSON.stringify(process.env.MEGANET_PAGE_DEBUG)})`)
    const page = await context.newPage()
    if (process.env.MEGANET_PAGE_DEBUG != null) page.on('console', m => { process.stderr.write(`[page] ${m.text().slice(0, 400)}\n`) })
    const app = new AppPage(context, page)
    await page.goto(url)
    await page.waitForFunction(() => document.getElementById('anchors')?.value !== undefined)
    return app
  }

  /** Joins through `anchors` (or the ones the server configured) and returns the page's PeerId. */
  async join (anchors?: readonly string[], timeoutMs = 30_000): Promise<string> {
    if (anchors != null) await this.page.fill('#anchors', anchors.join('\n'))
    await this.page.click('#join-button')
    await this.page.waitForSelector('#workspace:not([hidden]), #join-error:not([hidden])', { timeout: timeoutMs })
    const error = await this.page.locator('#join-error:not([hidden])').textContent({ timeout: 100 }).catch(() => null)
    if (error != null) throw new Error(`the page could not join: ${error}`)
    return (await this.page.textContent('#peer-id')) ?? ''
  }

  async joinError (anchors: readonly string[]): Promise<string> {
    await this.page.fill('#anchors', anchors.join('\n'))
    await this.page.click('#join-button')
    return await this.page.locator('#join-error:not([hidden])').textContent({ timeout: 40_000 }) ?? ''
  }

  async status (): Promise<string> {
    return (await this.page.textContent('#status-text')) ?? ''
  }

  async openChat (peerId: string): Promise<void> {
    await this.page.fill('#new-chat-peer', peerId)
    await this.page.click('#new-chat button')
  }

  /** Sends `text` in the open conversation; resolves once it shows as sent, rejects with the page's message. */
  async send (text: string, timeoutMs = 30_000): Promise<void> {
    await this.page.fill('#message-input', text)
    await this.page.click('#send-button')
    await this.page.waitForFunction(({ text }) => {
      const sent = [...document.querySelectorAll('.message.me')].some(m => m.firstChild?.textContent === text)
      return sent || !(document.getElementById('send-error')?.hidden ?? true)
    }, { text }, { timeout: timeoutMs })
    const error = await this.page.locator('#send-error:not([hidden])').textContent({ timeout: 100 }).catch(() => null)
    if (error != null) throw new Error(`the page could not send: ${error}`)
  }

  async waitForMessage (text: string, timeoutMs = 30_000): Promise<{ relayed: boolean }> {
    const message = this.page.locator('.message.them', { hasText: text })
    await message.first().waitFor({ timeout: timeoutMs })
    return { relayed: ((await message.first().locator('.meta').textContent()) ?? '').includes('relayed') }
  }

  /** Shares a file through the file picker (from a file on disk, as a person would); resolves with its meganet:// link. */
  async share (name: string, bytes: Buffer, timeoutMs = 120_000): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'meganet-upload-'))
    const path = join(dir, name)
    await writeFile(path, bytes)
    try {
      await this.page.setInputFiles('#file-input', path)
      await this.page.waitForSelector('#share-result:not([hidden]), #put-error:not([hidden])', { timeout: timeoutMs })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    const error = await this.page.locator('#put-error:not([hidden])').textContent({ timeout: 100 }).catch(() => null)
    if (error != null) throw new Error(`the page could not share ${name}: ${error}`)
    return (await this.page.textContent('#share-link')) ?? ''
  }

  /** Opens a link; resolves with the file's name and the SHA-256 (hex) the page computes of what it got. */
  async open (link: string, timeoutMs = 120_000): Promise<{ name: string, sha256: string }> {
    await this.page.fill('#open-link', link)
    await this.page.click('#open-form button')
    await this.page.waitForSelector('#open-result:not([hidden]), #get-error:not([hidden])', { timeout: timeoutMs })
    const error = await this.page.locator('#get-error:not([hidden])').textContent({ timeout: 100 }).catch(() => null)
    if (error != null) throw new Error(error)
    return await this.page.evaluate(async () => {
      const opened = (window.meganetApp as { opened: { name: string, blob: Blob } }).opened
      const digest = await crypto.subtle.digest('SHA-256', await opened.blob.arrayBuffer())
      return { name: opened.name, sha256: [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('') }
    })
  }

  async openError (link: string): Promise<string> {
    await this.page.fill('#open-link', link)
    await this.page.click('#open-form button')
    return await this.page.locator('#get-error:not([hidden])').textContent({ timeout: 30_000 }) ?? ''
  }

  /** How the page's peer is connected to `peerId`: direct, relayed or none. */
  async pathTo (peerId: string): Promise<string> {
    return await this.page.evaluate(id => (window.meganetApp as { peer: { pathTo: (id: string) => string } }).peer.pathTo(id), peerId)
  }

  /** The page peer's open connections: remote address and whether it is limited (relayed). */
  async connections (): Promise<Array<{ peer: string, address: string, limited: boolean }>> {
    return await this.page.evaluate(() => {
      const peer = (window.meganetApp as { peer: { node: { getConnections: () => Array<{ remotePeer: { toString: () => string }, remoteAddr: { toString: () => string }, limits?: unknown }> } } }).peer
      return peer.node.getConnections().map(c => ({ peer: c.remotePeer.toString(), address: c.remoteAddr.toString(), limited: c.limits != null }))
    })
  }

  async screenshot (name: string): Promise<string> {
    await mkdir(SCREENSHOT_DIR, { recursive: true })
    const path = join(SCREENSHOT_DIR, `${name}.png`)
    await this.page.screenshot({ path, fullPage: true })
    return path
  }

  async close (): Promise<void> {
    await this.page.evaluate(() => { window.dispatchEvent(new Event('pagehide')) }).catch(() => {})
    await this.context.close()
  }
}
