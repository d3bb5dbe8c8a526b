import type { ChildProcess } from 'node:child_process'

/**
 * Collects a child's log lines (on stderr) into `logs` and resolves with the first line that
 * `matches`. Rejects, killing the child, when it exits first or the time runs out; the error
 * quotes the log so far.
 */
export async function waitForLogLine (child: ChildProcess, logs: string[], matches: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    let buffer = ''
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      child.kill('SIGKILL')
      reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${logs.join('\n')}`))
    }, timeoutMs)
    child.stderr?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      let index
      while ((index = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, index)
        buffer = buffer.slice(index + 1)
        logs.push(text)
        if (settled || !matches(text)) continue
        settled = true
        clearTimeout(timer)
        resolve(text)
      }
    })
    child.once('exit', code => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      reject(new Error(`${what} exited with code ${code}:\n${logs.join('\n')}`))
    })
  })
}

/** Like {@link waitForLogLine}, for JSON log lines (pino): the first whose `msg` is `message`, parsed. */
export async function waitForLogMessage<T> (child: ChildProcess, logs: string[], message: string, timeoutMs: number, what: string): Promise<T> {
  const line = await waitForLogLine(child, logs, text => text.includes(`"msg":${JSON.stringify(message)}`), timeoutMs, what)
  return JSON.parse(line) as T
}
