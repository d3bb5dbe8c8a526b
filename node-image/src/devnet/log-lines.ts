import type { ChildProcess } from 'node:child_process'

/**
 * Collects a child's JSON log lines (pino, on stderr) into `logs` and resolves with the first
 * line whose `msg` is `message`, parsed. Rejects, killing the child, when it exits first or
 * the time runs out; the error quotes the log so far.
 */
export async function waitForLogMessage<T> (child: ChildProcess, logs: string[], message: string, timeoutMs: number, what: string): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
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
        if (settled || !text.includes(`"msg":${JSON.stringify(message)}`)) continue
        settled = true
        clearTimeout(timer)
        try {
          resolve(JSON.parse(text) as T)
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)))
        }
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
