import { describe, expect, it } from 'vitest'
import { ByteBudget } from './byte-budget.js'

describe('ByteBudget', () => {
  it('admits up to its limit, refuses past it, and takes back what is released once', () => {
    const budget = new ByteBudget({ limit: 100, holderShare: 1 })
    const a = budget.tryAcquire(60)
    expect(a).toBeDefined()
    expect(budget.tryAcquire(50)).toBeUndefined()
    const b = budget.tryAcquire(40)
    expect(budget.held).toBe(100)
    a?.()
    a?.()
    expect(budget.held).toBe(40)
    b?.()
    expect(budget.held).toBe(0)
  })

  it('keeps one holder to its share while others still get theirs', () => {
    const budget = new ByteBudget({ limit: 100, holderShare: 0.25 })
    expect(budget.tryAcquire(20, 'net-a')).toBeDefined()
    expect(budget.tryAcquire(10, 'net-a')).toBeUndefined()
    expect(budget.tryAcquire(25, 'net-b')).toBeDefined()
    expect(budget.tryAcquire(50)).toBeDefined()
    expect(budget.held).toBe(95)
  })
})
