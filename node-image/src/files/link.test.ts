import { describe, expect, it } from 'vitest'
import { cidOf } from '../blocks/cid.js'
import { generateFileKey } from './chunk-crypto.js'
import { formatLink, LinkError, parseLink } from './link.js'

async function sample (): Promise<{ link: string, cid: string, keyText: string, key: Uint8Array }> {
  const cid = await cidOf(new TextEncoder().encode('{"v":1}'), 'json')
  const key = generateFileKey()
  const link = formatLink(cid, key)
  return { link, cid: cid.toString(), keyText: Buffer.from(key).toString('base64url'), key }
}

describe('file links', () => {
  it('round-trip the manifest CID and the key', async () => {
    const { link, cid, key } = await sample()
    expect(link).toMatch(/^meganet:\/\/b[a-z2-7]+#[A-Za-z0-9_-]{43}$/)
    const parsed = parseLink(`  ${link}\n`)
    expect(parsed.manifestCid.toString()).toBe(cid)
    expect(parsed.key).toEqual(key)
  })

  it('refuse another scheme', async () => {
    const { cid, keyText } = await sample()
    expect(() => parseLink(`https://${cid}#${keyText}`)).toThrow(/not a MegaNet link: expected meganet:\/\/<cid>#<key>, got a https: link/)
    expect(() => parseLink(cid)).toThrow(LinkError)
  })

  it('refuse a bad CID, or one that is not a manifest', async () => {
    const { keyText } = await sample()
    expect(() => parseLink(`meganet://hello#${keyText}`)).toThrow(/bad link: "hello" is not a CID/)
    const raw = await cidOf(Uint8Array.of(1), 'raw')
    expect(() => parseLink(`meganet://${raw.toString()}#${keyText}`)).toThrow(/raw block, not a file manifest/)
  })

  it('refuse a missing, short or garbled key without echoing it', async () => {
    const { cid, keyText } = await sample()
    expect(() => parseLink(`meganet://${cid}`)).toThrow(/link has no key/)
    expect(() => parseLink(`meganet://${cid}#`)).toThrow(/link has no key/)
    expect(() => parseLink(`meganet://${cid}#${keyText.slice(0, 20)}`)).toThrow(/link key is 15 bytes; expected 32 \(was the link cut short\?\)/)
    expect(() => parseLink(`meganet://${cid}#${keyText.slice(0, 40)}+/`)).toThrow(/not base64url/)
    try {
      parseLink(`meganet://${cid}#${keyText.slice(0, 20)}`)
    } catch (err) {
      expect((err as Error).message).not.toContain(keyText.slice(0, 20))
    }
  })
})
