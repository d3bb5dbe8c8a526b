import { describe, expect, it } from 'vitest'
import * as files from './index.js'

describe('the files entry point', () => {
  it('exports the transfer functions, the errors and the limits', () => {
    expect(Object.keys(files).sort()).toEqual([
      'BLOCK_OVERHEAD_BYTES', 'BlockMismatchError', 'BlockNotFoundError', 'DEFAULT_CHUNK_BYTES', 'DEFAULT_CONCURRENCY',
      'DecryptError', 'LinkError', 'MAX_CHUNK_BYTES', 'MAX_CONCURRENCY', 'MIN_CHUNK_BYTES', 'ManifestError', 'MemoryBlockTransport',
      'PutFileError', 'TransferOptionError', 'createProgressReporter', 'fetchFile', 'formatDuration', 'formatLink', 'getBlob', 'getFile',
      'getVerifiedBlock', 'maxManifestChunks', 'parseChunkSizeText', 'parseConcurrencyText', 'parseLink', 'putBlob', 'putFile'
    ])
  })
})
