import { Kvm } from '@nats-io/kv'
import { commandReplySchema, commandSubject, decodePayload, encodePayload, membersBucket } from '@meganet/contracts'
import { signCommand } from './trust/anchor-command.js'
import { verifyMemberRecord } from './trust/member-record.js'
import type { SigningKey } from './trust/ed25519.js'
import type { AnchorCommand, FleetScope, MemberRecord } from '@meganet/contracts'
import type { KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/nats-core'

export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000

export class FleetCommandError extends Error {
  override readonly name = 'FleetCommandError'
}

/** An anchor's answer to a command, with its membership record (signed by it, and checked). */
export interface CommandResult {
  readonly command: AnchorCommand
  readonly member: MemberRecord
}

/** Reads a fleet's membership: what the operator and tools see. */
export interface FleetReader {
  /** Live members: records signed by their anchors and fresher than `ttlMs`; others skipped. */
  members: (ttlMs: number) => Promise<MemberRecord[]>
}

/** Reads a fleet and sends commands to its anchors. */
export interface FleetController extends FleetReader {
  command: (anchorPeerId: string, command: AnchorCommand, timeoutMs?: number) => Promise<CommandResult>
}

export interface FleetClientOptions {
  /**
   * The operator key commands are signed with; anchors obey only keys they were configured to
   * trust. Without one this client reads the fleet but cannot command it.
   */
  readonly commandKey?: SigningKey
}

/** A fleet seen over an existing NATS connection (the caller owns the connection). */
export class FleetClient implements FleetController {
  private readonly nc: NatsConnection
  private readonly scope: FleetScope
  private readonly commandKey?: SigningKey
  private kv?: KV

  constructor (nc: NatsConnection, scope: FleetScope, options: FleetClientOptions = {}) {
    this.nc = nc
    this.scope = scope
    if (options.commandKey != null) this.commandKey = options.commandKey
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
      const verified = verifyMemberRecord(entry.value, { scope: this.scope, ttlMs, key, now })
      if (verified.ok) members.push(verified.value)
    }
    return members
  }

  async command (anchorPeerId: string, command: AnchorCommand, timeoutMs = DEFAULT_COMMAND_TIMEOUT_MS): Promise<CommandResult> {
    if (this.commandKey == null) throw new FleetCommandError(`${command} to anchor ${anchorPeerId}: no operator key to sign it with (anchors obey signed commands only)`)
    const signed = await signCommand(this.commandKey, command, { anchor: anchorPeerId, scope: this.scope })
    let reply
    try {
      reply = await this.nc.request(commandSubject(this.scope, anchorPeerId), encodePayload(signed), { timeout: timeoutMs })
    } catch (err) {
      throw new FleetCommandError(`${command} to anchor ${anchorPeerId}: no reply within ${timeoutMs} ms (${(err as Error).message})`, { cause: err })
    }
    const decoded = decodePayload(commandReplySchema, reply.data)
    if (!decoded.ok) throw new FleetCommandError(`${command} to anchor ${anchorPeerId}: malformed reply (${decoded.message})`)
    if (!decoded.value.ok) throw new FleetCommandError(`${command} to anchor ${anchorPeerId}: ${decoded.value.error}`)
    // The reply's record must be the anchor's own, signed by it: anyone can answer on NATS.
    const member = verifyMemberRecord(decoded.value.member, { scope: this.scope, ttlMs: Number.MAX_SAFE_INTEGER, key: anchorPeerId })
    if (!member.ok) throw new FleetCommandError(`${command} to anchor ${anchorPeerId}: the reply is not signed by that anchor (${member.message})`)
    return { command: decoded.value.command, member: member.value }
  }
}
