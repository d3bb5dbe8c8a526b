import { statSync } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import { Command, InvalidArgumentError, Option } from 'commander'
import {
  createProgressReporter, DEFAULT_CHUNK_BYTES, DEFAULT_CONCURRENCY, getFile, parseChunkSizeText, parseConcurrencyText, parseLink,
  putFile, TransferOptionError
} from '../files/index.js'
import { formatBytes } from '../config/units.js'
import { startTransferGc } from '../runtime/transfer-gc.js'
import { checkedArgument } from './checked-argument.js'
import type { BlockTransport, TransferProgress } from '../files/index.js'

/** What a file command needs from the network: a block transport, and a way to leave. */
export interface FileSession {
  readonly blocks: BlockTransport
  stop (): Promise<void>
}

/** Joins the network with the command's flags (the join options the caller adds). */
export type JoinForFiles<Flags> = (flags: Flags) => Promise<FileSession>

interface TransferFlags {
  concurrency: number
  json?: boolean
}

interface PutFlags extends TransferFlags {
  chunkSize: number
}

/** Turns the library's option errors into commander's, so they print as usage errors. */
function flagParser (parse: (text: string) => number): (text: string) => number {
  return text => {
    try {
      return parse(text)
    } catch (err) {
      if (err instanceof TransferOptionError) throw new InvalidArgumentError(err.message)
      throw err
    }
  }
}

/** What `path` is, or undefined when there is nothing there (or it cannot be looked at). */
function kindOf (path: string): 'file' | 'directory' | 'other' | undefined {
  try {
    const stats = statSync(path)
    return stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : 'other'
  } catch {
    return undefined
  }
}

/** Argument checks that run before joining the network, each failing as a usage error in one line. */
function fileToShare (path: string): string {
  const kind = kindOf(path)
  if (kind === undefined) throw new InvalidArgumentError(`there is no file ${path}: check the path`)
  if (kind !== 'file') throw new InvalidArgumentError(`${path} is a ${kind === 'directory' ? 'folder' : 'special file'}: give one regular file`)
  return path
}

const linkArgument = checkedArgument(parseLink)

function saveAs (path: string): string {
  const folder = dirname(resolve(path))
  if (kindOf(folder) !== 'directory') throw new InvalidArgumentError(`the folder ${folder} does not exist: create it, or save elsewhere`)
  if (kindOf(path) === 'directory') throw new InvalidArgumentError(`${path} is a folder: give the file name to save as, e.g. ${path.replace(/\/$/, '')}/photo.jpg`)
  return path
}

function concurrencyOption (): Option {
  return new Option('--concurrency <n>', 'chunks in flight at once')
    .argParser(flagParser(parseConcurrencyText))
    .default(DEFAULT_CONCURRENCY)
}

/**
 * Runs a transfer that a first SIGINT/SIGTERM aborts (cleaning up after itself); with the
 * handlers gone, a second signal ends the process at once.
 */
async function interruptible<T> (run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const onSignal = (): void => { controller.abort(new Error('interrupted')) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    return await run(controller.signal)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** Runs `transfer` inside a joined session, with progress on stderr. */
async function withSession<Flags, T> (
  join: JoinForFiles<Flags>, flags: Flags, label: string,
  transfer: (session: FileSession, signal: AbortSignal, onProgress: (progress: TransferProgress) => void) => Promise<T>
): Promise<T> {
  // A put or get is bulk bytes through this process: free their buffers with scavenges, and
  // leave the small heap room for them in between. Started before joining: if it throws, no
  // session is left behind.
  const transferGc = startTransferGc('peer')
  let session: FileSession | undefined
  try {
    const joined = session = await join(flags)
    const progress = createProgressReporter({ label, stream: process.stderr })
    try {
      const result = await interruptible(async signal => await transfer(joined, signal, p => progress.update(p)))
      progress.finish()
      return result
    } catch (err) {
      progress.cancel()
      throw err
    }
  } finally {
    // Before the session's stop, which may reject.
    transferGc.stop()
    await session?.stop()
  }
}

/**
 * `put <file>`: encrypts and stores a file, then prints its link on stdout. The caller adds the
 * join options (e.g. with `withJoinOptions`) and hands in `join`.
 */
export function putFileCommand<Flags> (join: JoinForFiles<Flags>): Command {
  return new Command('put')
    .description('encrypt a file, store it on the anchors and print its meganet:// link (keep the link secret: it holds the key)')
    .argument('<file>', 'the file to share', fileToShare)
    .addOption(new Option('--chunk-size <size>', 'plaintext bytes per chunk, e.g. 256KiB or 4MiB')
      .argParser(flagParser(parseChunkSizeText))
      .default(DEFAULT_CHUNK_BYTES, formatBytes(DEFAULT_CHUNK_BYTES)))
    .addOption(concurrencyOption())
    .action(async (file: string, flags: Flags & PutFlags) => {
      const result = await withSession(join, flags, `put ${basename(file)}`, async (session, signal, onProgress) =>
        await putFile(file, session.blocks, { chunkSize: flags.chunkSize, concurrency: flags.concurrency, onProgress, signal }))
      process.stdout.write(flags.json === true
        ? `${JSON.stringify({ link: result.link, size: result.size, chunks: result.chunks })}\n`
        : `${result.link}\n`)
    })
}

/** `get <link> <out>`: fetches, verifies and decrypts a file into `out`. */
export function getFileCommand<Flags> (join: JoinForFiles<Flags>): Command {
  return new Command('get')
    .description('fetch a file by its meganet:// link, verify and decrypt it, and save it')
    .argument('<link>', 'the meganet://<cid>#<key> link', linkArgument)
    .argument('<out>', 'where to save the file (written in full, then moved into place)', saveAs)
    .addOption(concurrencyOption())
    .action(async (link: string, out: string, flags: Flags & TransferFlags) => {
      const result = await withSession(join, flags, `get ${basename(out)}`, async (session, signal, onProgress) =>
        await getFile(link, session.blocks, out, { concurrency: flags.concurrency, onProgress, signal }))
      process.stdout.write(flags.json === true
        ? `${JSON.stringify({ saved: out, size: result.size, name: result.name })}\n`
        : `saved ${out} (${formatBytes(result.size)}, shared as ${JSON.stringify(result.name)})\n`)
    })
}
