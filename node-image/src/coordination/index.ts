/**
 * @packageDocumentation
 * The fleet's coordination plane as other programs (the operator, tools) use it.
 */
export { FleetClient, FleetCommandError, DEFAULT_COMMAND_TIMEOUT_MS } from './fleet-client.js'
export type { FleetReader, FleetController } from './fleet-client.js'
export { MemberView } from './member-view.js'
