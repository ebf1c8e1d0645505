/** Times travel as ISO 8601 strings in the API and on pages; D1 keeps Unix milliseconds. */
export function iso(ms: number): string {
  return new Date(ms).toISOString()
}

export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms)
}
