import { Kvm } from '@nats-io/kv'
import {
  commandReplySchema, commandSubject, decodePayload, encodePayload, memberRecordSchema, membersBucket
} from '@meganet/contracts'
import type { AnchorCommand, CommandReply, FleetScope, MemberRecord } from '@meganet/contracts'
import type { KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/nats-core'

export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000

export class FleetCommandError extends Error {
  override readonly name = 'FleetCommandError'
}

/** Reads a fleet's membership: what the operator and tools see. */
export interface FleetReader {
  /** Live members: records fresher than `ttlMs`, malformed ones skipped. */
  members: (ttlMs: number) => Promise<MemberRecord[]>
}

/** Reads a fleet and sends commands to its anchors. */
export interface FleetController extends FleetReader {
  command: (anchorPeerId: string, command: AnchorCommand, timeoutMs?: number) => Promise<Extract<CommandReply, { ok: true }>>
}

/** A fleet seen over an existing NATS connection (the caller owns the connection). */
export class FleetClient implements FleetController {
  private readonly nc: NatsConnection
  private readonly scope: FleetScope
  private kv?: KV

  constructor (nc: NatsConnection, scope: FleetScope) {
    this.nc = nc
    this.scope = scope
  }

  async members (ttlMs: number, now = Date.now()): Promise<MemberRecord[]> {
    if (this.kv == null) {
      try {
        this.kv = await new Kvm(this.nc).open(membersBucket(this.scope))
        await this.kv.status()
      } catch (err) {
        // No anchor of this fleet has registered yet, so its bucket does not exist: no members.
        if (/stream not found|bucket not found/i.test((err as Error).message)) {
          this.kv = undefined
          return []
        }
        throw err
      }
    }
    const members: MemberRecord[] = []
    const keys = await this.kv.keys()
    for await (const key of keys) {
      const entry = await this.kv.get(key)
      if (entry == null || entry.operation !== 'PUT') continue
      const decoded = decodePayload(memberRecordSchema, entry.value)
      if (decoded.ok && decoded.value.peerId === key && now - decoded.value.updatedAt <= ttlMs) members.push(decoded.value)
    }
    return members
  }

  async command (anchorPeerId: string, command: AnchorCommand, timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS): Promise<Extract<CommandReply, { ok: true }>> {
    let reply
    try {
      reply = await this.nc.request(commandSubject(this.scope, anchorPeerId), encodePayload({ command }), { timeout: timeoutMs })
    } catch (err) {
      throw new FleetCommandError(`${command} to anchor ${anchorPeerId}: no reply within ${timeoutMs} ms (${(err as Error).message})`, { cause: err })
    }
    const decoded = decodePayload(commandReplySchema, reply.data)
    if (!decoded.ok) throw new FleetCommandError(`${command} to anchor ${anchorPeerId}: malformed reply (${decoded.message})`)
    if (!decoded.value.ok) throw new FleetCommandError(`${command} to anchor ${anchorPeerId}: ${decoded.value.error}`)
    return decoded.value
  }
}
