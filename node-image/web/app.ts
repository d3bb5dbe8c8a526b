import {
  MeganetPeer, formatBytes, generateIdentity, getBlob, identityFromBytes, identityToBytes, parseLink, putBlob, storageBootstrapCache, userMessage
} from '@meganet/node/browser'
import type { PeerPath, ReceivedMessage, TransferProgress } from '@meganet/node/browser'

/** What the server that serves this page says about the network (devnet, `meganet web`). */
interface PageConfig {
  readonly anchors?: readonly string[]
  /** A signed bootstrap list to join through, verified against `trustedAnchors`; the last good one is kept in localStorage. */
  readonly bootstrapUrl?: string
  readonly trustedAnchors?: readonly string[]
  readonly allowPrivateAddresses?: boolean
  readonly network?: string
}

interface ChatMessage { readonly mine: boolean, readonly text: string, readonly at: Date, readonly relayed: boolean }
interface Conversation { readonly peerId: string, readonly messages: ChatMessage[], path: PeerPath, unread: number }

const IDENTITY_KEY = 'meganet.identity'
const STATUS_EVERY_MS = 1000

function byId<T extends HTMLElement> (id: string): T {
  const element = document.getElementById(id)
  if (element == null) throw new Error(`the page has no #${id}`)
  return element as T
}

function el<K extends keyof HTMLElementTagNameMap> (tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  element.className = className
  if (text != null) element.textContent = text
  return element
}

function shortId (peerId: string): string {
  return peerId.length > 18 ? `${peerId.slice(0, 10)}…${peerId.slice(-6)}` : peerId
}

function showError (id: string, err: unknown): void {
  const line = byId(id)
  line.textContent = typeof err === 'string' ? err : userMessage(err)
  line.hidden = false
}

function clearError (id: string): void {
  byId(id).hidden = true
}

function setProgress (id: string, progress: TransferProgress, verb: string): void {
  const box = byId(id)
  box.hidden = false
  const fraction = progress.totalBytes === 0 ? 1 : progress.bytes / progress.totalBytes
  box.querySelector<HTMLElement>('.bar')!.style.width = `${(fraction * 100).toFixed(1)}%`
  box.querySelector<HTMLElement>('.progress-text')!.textContent =
    `${verb} ${formatBytes(progress.bytes)} of ${formatBytes(progress.totalBytes)} (${Math.floor(fraction * 100)}%)`
}

/** The peer's key stays in this browser, so its PeerId survives reloads. */
async function loadIdentity (): Promise<Awaited<ReturnType<typeof generateIdentity>>> {
  const stored = localStorage.getItem(IDENTITY_KEY)
  if (stored != null) {
    try {
      return identityFromBytes(Uint8Array.from(atob(stored), c => c.charCodeAt(0)))
    } catch {
      localStorage.removeItem(IDENTITY_KEY)
    }
  }
  const key = await generateIdentity()
  localStorage.setItem(IDENTITY_KEY, btoa(String.fromCharCode(...identityToBytes(key))))
  return key
}

function transportName (address: string): string {
  if (address.includes('/webrtc-direct')) return 'WebRTC-direct'
  if (address.includes('/tls/ws') || address.includes('/wss')) return 'secure WebSocket'
  if (address.includes('/ws')) return 'WebSocket'
  return 'TCP'
}

class App {
  private peer?: MeganetPeer
  private config: PageConfig = {}
  private readonly conversations = new Map<string, Conversation>()
  private selected?: string
  private statusTimer?: number

  async init (): Promise<void> {
    if (!window.isSecureContext || typeof crypto.subtle === 'undefined') {
      showError('join-error', 'This page must be opened over https:// (or on localhost): browsers give it the encryption it needs only there. Ask whoever runs it for the https:// address.')
      byId<HTMLButtonElement>('join-button').disabled = true
    }
    this.config =  await fetch('config.json').then(async r => r.ok ? await r.json() as PageConfig : {}).catch(() => ({}))
    const fromUrl = new URLSearchParams(location.search).getAll('anchor')
    byId<HTMLTextAreaElement>('anchors').value = (fromUrl.length > 0 ? fromUrl : this.config.anchors ?? []).join('\n')
    if (this.config.network != null) byId('network-name').textContent = `Network: ${this.config.network}.`
    byId('join-form').addEventListener('submit', event => { event.preventDefault(); void this.join() })
    byId('copy-peer-id').addEventListener('click', () => { void this.copy(this.peer?.peerId ?? '', 'copy-peer-id') })
    byId('new-chat').addEventListener('submit', event => { event.preventDefault(); this.openChat() })
    byId('composer').addEventListener('submit', event => { event.preventDefault(); void this.send() })
    byId('open-form').addEventListener('submit', event => { event.preventDefault(); void this.open() })
    byId('copy-link').addEventListener('click', () => { void this.copy(byId('share-link').textContent ?? '', 'copy-link') })
    const input = byId<HTMLInputElement>('file-input')
    input.addEventListener('change', () => { const file = input.files?.[0]; if (file != null) void this.share(file); input.value = '' })
    const zone = byId('drop-zone')
    zone.addEventListener('dragover', event => { event.preventDefault(); zone.classList.add('dragging') })
    zone.addEventListener('dragleave', () => { zone.classList.remove('dragging') })
    zone.addEventListener('drop', event => {
      event.preventDefault()
      zone.classList.remove('dragging')
      const file = event.dataTransfer?.files[0]
      if (file != null) void this.share(file)
    })
  }

  private async join (): Promise<void> {
    clearError('join-error')
    const anchors = byId<HTMLTextAreaElement>('anchors').value.split(/\s+/).map(s => s.trim()).filter(s => s.length > 0)
    const button = byId<HTMLButtonElement>('join-button')
    button.disabled = true
    byId('join-progress').hidden = false
    this.setStatus('connecting', 'Connecting…')
    try {
      const { bootstrapUrl, trustedAnchors } = this.config
      const peer = await MeganetPeer.create({
        anchors,
        // The kept list lets the page start when the list's server is gone, and names the peered fleets to fall back on.
        ...(bootstrapUrl != null ? { bootstrapUrl, trustedAnchors: trustedAnchors ?? [], bootstrapCache: storageBootstrapCache(localStorage) } : {}),
        allowPrivateAddresses: this.config.allowPrivateAddresses ?? false,
        privateKey: await loadIdentity(),
        reservationTimeoutMs: 15_000
      })
      peer.onMessage(message => { this.receive(message) })
      await peer.start()
      this.peer = peer
      Object.assign(window, { meganetApp: { peer } }) // for debugging in the console
      byId('peer-id').textContent = peer.peerId
      byId('identity').hidden = false
      byId('join').hidden = true
      byId('workspace').hidden = false
      for (const id of ['message-input', 'send-button']) byId<HTMLInputElement>(id).disabled = this.selected == null
      this.refreshStatus()
      this.statusTimer = window.setInterval(() => { this.refreshStatus() }, STATUS_EVERY_MS)
    } catch (err) {
      this.setStatus('offline', 'Not connected')
      showError('join-error', err)
    } finally {
      button.disabled = false
      byId('join-progress').hidden = true
    }
  }

  private setStatus (state: 'idle' | 'connecting' | 'online' | 'offline', text: string): void {
    const status = byId('status')
    const line = byId('status-text')
    // Touch the DOM only on a change: an idle page must not re-render every second.
    if (status.dataset.state !== state) status.dataset.state = state
    if (line.textContent !== text) line.textContent = text
  }

  /** Online through which anchor and transport, or offline while the peer reconnects on its own. */
  private refreshStatus (): void {
    const peer = this.peer
    if (peer == null) return
    const reachable = peer.circuitAddresses()
    const anchor = reachable[0]?.match(/\/p2p\/([^/]+)\/p2p-circuit/)?.[1]
    const connection = anchor == null ? undefined : peer.node.getConnections().find(c => c.remotePeer.toString() === anchor && c.limits == null)
    if (connection != null && anchor != null) {
      this.setStatus('online', `Online · anchor ${shortId(anchor)} · ${transportName(connection.remoteAddr.toString())}`)
    } else {
      this.setStatus('offline', 'Offline · reconnecting to an anchor…')
    }
    for (const conversation of this.conversations.values()) {
      const path = peer.pathTo(conversation.peerId)
      if (path !== conversation.path) { conversation.path = path; if (conversation.peerId === this.selected) this.renderConversation() }
    }
  }

  private conversation (peerId: string): Conversation {
    let found = this.conversations.get(peerId)
    if (found == null) {
      found = { peerId, messages: [], path: this.peer?.pathTo(peerId) ?? 'none', unread: 0 }
      this.conversations.set(peerId, found)
    }
    return found
  }

  private openChat (): void {
    clearError('new-chat-error')
    const input = byId<HTMLInputElement>('new-chat-peer')
    const peerId = input.value.trim()
    try {
      this.peer?.pathTo(peerId) // checks it is a PeerId
    } catch (err) {
      showError('new-chat-error', err)
      return
    }
    if (peerId === this.peer?.peerId) { showError('new-chat-error', 'That is your own PeerId: paste the PeerId of the person you want to message.'); return }
    input.value = ''
    this.conversation(peerId)
    this.select(peerId)
  }

  private select (peerId: string): void {
    this.selected = peerId
    this.conversation(peerId).unread = 0
    for (const id of ['message-input', 'send-button']) byId<HTMLInputElement>(id).disabled = false
    clearError('send-error')
    this.renderContacts()
    this.renderConversation()
    byId('message-input').focus()
  }

  private receive (message: ReceivedMessage): void {
    const conversation = this.conversation(message.from)
    conversation.messages.push({ mine: false, text: new TextDecoder().decode(message.data), at: new Date(), relayed: message.relayed })
    if (this.selected == null) this.select(message.from)
    else if (this.selected !== message.from) conversation.unread++
    this.renderContacts()
    if (this.selected === message.from) this.renderConversation()
  }

  private async send (): Promise<void> {
    const peer = this.peer
    const to = this.selected
    const input = byId<HTMLInputElement>('message-input')
    const text = input.value.trim()
    if (peer == null || to == null || text === '') return
    clearError('send-error')
    const button = byId<HTMLButtonElement>('send-button')
    button.disabled = true
    try {
      await peer.send(to, new TextEncoder().encode(text))
      const path = peer.pathTo(to)
      this.conversation(to).messages.push({ mine: true, text, at: new Date(), relayed: path !== 'direct' })
      input.value = ''
      this.renderConversation()
      // The library tries a few times and shares one attempt per contact.
      if (path === 'relayed') void peer.goDirect(to).finally(() => { this.refreshStatus() })
    } catch (err) {
      showError('send-error', err)
    } finally {
      button.disabled = false
      input.focus()
    }
  }

  private renderContacts (): void {
    const list = byId('contact-list')
    list.replaceChildren(...[...this.conversations.values()].map(conversation => {
      const item = el('li', `contact${conversation.peerId === this.selected ? ' selected' : ''}`)
      item.dataset.peer = conversation.peerId
      item.append(el('span', 'name', shortId(conversation.peerId)))
      if (conversation.unread > 0) item.append(el('span', 'unread', String(conversation.unread)))
      item.addEventListener('click', () => { this.select(conversation.peerId) })
      return item
    }))
    byId('no-contacts').hidden = this.conversations.size > 0
  }

  private renderConversation (): void {
    const conversation = this.selected == null ? undefined : this.conversations.get(this.selected)
    if (conversation == null) return
    byId('conversation-title').textContent = conversation.peerId
    byId('conversation-sub').textContent = `${conversation.messages.length} message${conversation.messages.length === 1 ? '' : 's'}`
    const badge = byId('path-badge')
    badge.hidden = false
    badge.dataset.path = conversation.path
    badge.textContent = conversation.path === 'direct' ? 'Direct connection' : conversation.path === 'relayed' ? 'Relayed through an anchor' : 'Not connected yet'
    const list = byId('messages')
    list.replaceChildren(...conversation.messages.map(message => {
      const item = el('li', `message ${message.mine ? 'me' : 'them'}`, message.text)
      item.append(el('span', 'meta', `${message.at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })} · ${message.relayed ? 'relayed' : 'direct'}`))
      return item
    }))
    list.scrollTop = list.scrollHeight
  }

  private async share (file: File): Promise<void> {
    const peer = this.peer
    if (peer == null) return
    clearError('put-error')
    byId('share-result').hidden = true
    try {
      const result = await putBlob(file, peer.blocks(), { onProgress: p => { setProgress('put-progress', p, 'Encrypting and storing') } })
      byId('share-link').textContent = result.link
      byId('share-result').hidden = false
      setProgress('put-progress', { bytes: result.size, totalBytes: result.size }, `Shared ${file.name}:`)
    } catch (err) {
      byId('put-progress').hidden = true
      showError('put-error', err)
    }
  }

  private async open (): Promise<void> {
    const peer = this.peer
    if (peer == null) return
    clearError('get-error')
    byId('open-result').hidden = true
    const link = byId<HTMLInputElement>('open-link').value.trim()
    try {
      parseLink(link) // a bad link is refused before anything is fetched
      const result = await getBlob(link, peer.blocks(), { onProgress: p => { setProgress('get-progress', p, 'Fetching and decrypting') } })
      const save = byId<HTMLAnchorElement>('save-link')
      if (save.href.startsWith('blob:')) URL.revokeObjectURL(save.href)
      save.href = URL.createObjectURL(result.blob)
      save.download = result.name
      save.textContent = `Save ${result.name}`
      byId('opened-name').textContent = result.name
      byId('opened-size').textContent = `${formatBytes(result.size)} · decrypted and checked in your browser`
      byId('open-result').hidden = false
      Object.assign(window, { meganetApp: { peer, opened: result } })
    } catch (err) {
      byId('get-progress').hidden = true
      showError('get-error', err)
    }
  }

  private async copy (text: string, buttonId: string): Promise<void> {
    const button = byId<HTMLButtonElement>(buttonId)
    try {
      await navigator.clipboard.writeText(text)
      button.textContent = 'Copied'
    } catch {
      button.textContent = 'Select and copy'
    }
    window.setTimeout(() => { button.textContent = 'Copy' }, 1500)
  }

  stop (): void {
    window.clearInterval(this.statusTimer)
    void this.peer?.stop()
  }
}

const app = new App()
window.addEventListener('pagehide', () => { app.stop() })
void app.init()
