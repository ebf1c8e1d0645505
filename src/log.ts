/**
 * One JSON object per line, for Workers Logs. Callers pass identifiers and
 * outcomes only: never a token, code, cookie, key or secret.
 */
export function log(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, message, ...fields })
  if (level === 'error') console.error(line)
  else if (level === 'warn') console.warn(line)
  else console.log(line)
}
