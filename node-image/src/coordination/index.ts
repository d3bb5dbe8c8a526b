/**
 * @packageDocumentation
 * The fleet's coordination plane as other programs (the operator, tools) use it: re-exported
 * from `@meganet/fleet-client`, which is what programs without the anchor should depend on.
 */
export { FleetClient, FleetCommandError, DEFAULT_COMMAND_TIMEOUT_MS, MemberView } from '@meganet/fleet-client'
export type { FleetReader, FleetController } from '@meganet/fleet-client'
