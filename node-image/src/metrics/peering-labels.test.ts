import { describe, expect, it } from 'vitest'
import { peeringLabels } from './peering-labels.js'

describe('peering labels', () => {
  it('keep the scheme, host and path, and drop user info and the query', () => {
    expect(peeringLabels(['https://ops:hunter2@north.example/bootstrap?token=s3cret&as=a'])).toEqual(['https://north.example/bootstrap?…'])
    expect(peeringLabels(['https://north.example/bootstrap?s3cret'])).toEqual(['https://north.example/bootstrap?…'])
    expect(peeringLabels(['http://127.0.0.1:8080/bootstrap'])).toEqual(['http://127.0.0.1:8080/bootstrap'])
  })

  it('number URLs that differed only in what was dropped, so each keeps its series', () => {
    expect(peeringLabels(['https://n.example/b?as=a', 'https://n.example/b?as=b', 'https://s.example/b', 'https://n.example/b?as=c']))
      .toEqual(['https://n.example/b?…', 'https://n.example/b?… #2', 'https://s.example/b', 'https://n.example/b?… #3'])
  })

  it('never echo a URL it cannot parse', () => {
    expect(peeringLabels(['not a url with a s3cret'])).toEqual(['unparsable URL'])
  })
})
