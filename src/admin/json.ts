/** Times travel as ISO 8601 strings in the API; D1 keeps Unix milliseconds. */
export function iso(ms: number): string {
  return new Date(ms).toISOString()
}
