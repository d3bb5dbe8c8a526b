/** The control-plane binaries are neither given nor cached, and provision.sh could not build them. */
export class BinariesNotFoundError extends Error {
  override readonly name = 'BinariesNotFoundError'
}

/** openssl failed while making the cluster's certificates. */
export class CertificateError extends Error {
  override readonly name = 'CertificateError'
}

/** A component exited or did not become healthy in time; the message quotes the end of its log. */
export class ComponentStartError extends Error {
  override readonly name = 'ComponentStartError'
  readonly component: string
  readonly logPath: string

  constructor (component: string, reason: string, logPath: string, logTail: string, options?: ErrorOptions) {
    super(`${component} ${reason} (log: ${logPath}); last lines:\n${logTail}`, options)
    this.component = component
    this.logPath = logPath
  }
}

export function isComponentStartError (err: unknown): err is ComponentStartError {
  return err instanceof ComponentStartError
}

/** Something the harness waits for (nodes Ready, a ServiceAccount) did not happen in time. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError'
}
