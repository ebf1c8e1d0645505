/** Times travel as ISO 8601 strings in the API and on pages; D1 keeps Unix milliseconds. */

export const DAY_MS = 24 * 60 * 60 * 1000

export function iso(ms: number): string {
  return new Date(ms).toISOString()
}

export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms)
}

/** A time as people read it on a page, in UTC (the page cannot know the reader's zone): "9 December 2026, 03:29 UTC". */
export function readableUtc(ms: number): string {
  const date = new Date(ms)
  const day = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })
  const time = new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone: 'UTC',
  })
  return `${day.format(date)}, ${time.format(date)} UTC`
}
