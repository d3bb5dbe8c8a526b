/**
 * @packageDocumentation
 * The MegaNet operator as a library (the `meganet-operator` entry point wraps it).
 */
export { Operator } from './operator.js'
export { loadOperatorConfig, operatorConfigSchema, operatorHelp, parseOperatorFlags, OPERATOR_OPTIONS, OperatorConfigError } from './operator-config.js'
export type { OperatorConfig } from './operator-config.js'
export { autoscaleDecision } from './reconcile/autoscale.js'
export { planScaleDown } from './reconcile/scale-down.js'
export { fleetStatus } from './reconcile/fleet-status.js'
