import { MeganetPeer } from '../../node-image/src/peer/index.js'
import type { PeerOptions } from '../../node-image/src/peer/index.js'
import type { AnchorProcess } from './anchor-process.js'

/** Peers a test starts (joined through given anchors, loopback allowed) and stops at the end. */
export class TestPeers {
  private readonly peers: MeganetPeer[] = []

  /** A started peer that knows only `anchors`. */
  async on (anchors: AnchorProcess | readonly AnchorProcess[], options: Partial<PeerOptions> = {}): Promise<MeganetPeer> {
    const list: readonly AnchorProcess[] = Array.isArray(anchors) ? anchors as readonly AnchorProcess[] : [anchors as AnchorProcess]
    const peer = await MeganetPeer.create({ anchors: list.map(a => a.tcpAddress), allowPrivateAddresses: true, ...options })
    this.peers.push(peer)
    await peer.start()
    return peer
  }

  async stopAll (): Promise<void> {
    await Promise.all(this.peers.splice(0).map(async p => await p.stop()))
  }
}
