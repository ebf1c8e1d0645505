import { describe, expect, it } from 'vitest'
import { iso, readableUtc } from '../../src/lib/time'

describe('times', () => {
  it('travel as ISO 8601 in the API', () => {
    expect(iso(Date.UTC(2026, 11, 9, 3, 29, 25, 729))).toBe('2026-12-09T03:29:25.729Z')
  })

  it('read as a day, month, year and a 24-hour UTC time on pages', () => {
    expect(readableUtc(Date.UTC(2026, 11, 9, 3, 29, 25))).toBe('9 December 2026, 03:29 UTC')
    expect(readableUtc(Date.UTC(2027, 0, 1, 0, 0))).toBe('1 January 2027, 00:00 UTC')
  })
})
