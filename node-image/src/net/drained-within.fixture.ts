import type { Stream } from '@libp2p/interface'

/**
 * Resolves true at the stream's next `drain` event, false when none comes within `ms`. Waits on
 * the event, not on `onDrain()`, so tests measure the stream whatever `onDrain()` does.
 */
export async function drainedWithin (stream: Stream, ms: number): Promise<boolean> {
  return await new Promise<boolean>(resolve => {
    const timer = setTimeout(() => { stream.removeEventListener('drain', onDrain); resolve(false) }, ms)
    const onDrain = (): void => { clearTimeout(timer); resolve(true) }
    stream.addEventListener('drain', onDrain, { once: true })
  })
}
