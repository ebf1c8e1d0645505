/**
 * DNS over HTTPS, JSON API: `GET {DOH_URL}?name=…&type=…` with
 * `accept: application/dns-json`, answered as Cloudflare's 1.1.1.1 and Google
 * Public DNS do: `{Status, TC, RD, RA, AD, CD, Question, Answer?, Authority?}`,
 * each record `{name, type, TTL, data}` with names fully qualified (trailing
 * dot) and TXT data in presentation format (quoted strings). Every failure
 * (timeout, unreachable, an HTTP error, an answer that is not DNS JSON, an
 * RCODE other than NOERROR and NXDOMAIN) is a `DohFailure` whose message a
 * partner can read; nothing here throws anything else.
 *
 * @see https://developers.cloudflare.com/1.1.1.1/encryption/dns-over-https/make-api-requests/dns-json/
 * @see https://developers.google.com/speed/public-dns/docs/doh/json
 */
import type { DohConfig } from '../config'
import { readTextWithin } from '../lib/stream'

/** The record types the gateway asks about, by their numbers (IANA DNS parameters). */
export const DNS_TYPES = { A: 1, CNAME: 5, TXT: 16, AAAA: 28 } as const
export type DnsType = keyof typeof DNS_TYPES

export interface DnsRecord {
  /** The owner name as answered (fully qualified, with its trailing dot). */
  name: string
  type: number
  ttl: number
  /** Presentation format: a CNAME's target with its trailing dot, a TXT record's quoted strings. */
  data: string
}

/** A resolver's answer: the name exists (NOERROR, perhaps with no record of the type) or it does not (NXDOMAIN). */
export interface DnsAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN'
  records: DnsRecord[]
}

/** Why DNS could not be read; the message names the query and says what went wrong. */
export class DohFailure extends Error {
  override readonly name = 'DohFailure'
}

const RCODES: Record<number, string> = {
  1: 'FORMERR (the resolver could not read the query)',
  2: "SERVFAIL (the domain's name servers gave no usable answer: they may be down or unreachable, or its DNSSEC may be broken)",
  4: 'NOTIMP',
  5: 'REFUSED',
}

/** DNS JSON answers are a few hundred bytes; anything past this is not one. */
const MAX_ANSWER_BYTES = 64 * 1024

/** Asks the resolver for `type` records of `name`. */
export async function dohQuery(config: DohConfig, name: string, type: DnsType): Promise<DnsAnswer> {
  const query = `${name} ${type}`
  const url = new URL(config.url)
  url.searchParams.set('name', name)
  url.searchParams.set('type', type)
  let response: Response
  try {
    response = await fetch(url, {
      headers: { accept: 'application/dns-json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(config.timeoutMs),
    })
  } catch (error) {
    throw new DohFailure(
      isTimeout(error)
        ? `the DNS over HTTPS resolver did not answer ${query} within ${config.timeoutMs / 1000} s`
        : `the DNS over HTTPS resolver could not be reached for ${query}`,
    )
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined)
    throw new DohFailure(`the DNS over HTTPS resolver answered ${query} with HTTP ${response.status}`)
  }
  let text: string
  try {
    text = await readTextWithin(response.body, MAX_ANSWER_BYTES, () => new Error('too large'))
  } catch (error) {
    throw new DohFailure(
      isTimeout(error)
        ? `the DNS over HTTPS resolver did not finish its answer to ${query} within ${config.timeoutMs / 1000} s`
        : `the DNS over HTTPS resolver's answer to ${query} was cut off or too large`,
    )
  }
  const answer = parseDnsJson(text)
  if (!answer) throw new DohFailure(`the DNS over HTTPS resolver answered ${query} with something that is not DNS JSON`)
  if (answer.status === 0 || answer.status === 3) {
    return { rcode: answer.status === 0 ? 'NOERROR' : 'NXDOMAIN', records: answer.records }
  }
  throw new DohFailure(
    `the DNS over HTTPS resolver answered ${query} with ${RCODES[answer.status] ?? `DNS status ${answer.status}`}`,
  )
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
}

/** The DNS JSON object's status and answer records, or null when it is not one. Pure. */
export function parseDnsJson(text: string): { status: number; records: DnsRecord[] } | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return null
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null
  const { Status, Answer } = parsed as { Status?: unknown; Answer?: unknown }
  if (typeof Status !== 'number' || !Number.isInteger(Status) || Status < 0) return null
  if (Answer !== undefined && !Array.isArray(Answer)) return null
  const records: DnsRecord[] = []
  for (const entry of (Answer as unknown[] | undefined) ?? []) {
    if (typeof entry !== 'object' || entry === null) return null
    const { name, type, TTL, data } = entry as Record<string, unknown>
    if (typeof name !== 'string' || typeof type !== 'number' || typeof data !== 'string') return null
    records.push({ name, type, ttl: typeof TTL === 'number' ? TTL : 0, data })
  }
  return { status: Status, records }
}

/** A name as answered, compared as the gateway writes hostnames: lowercase, without the trailing dot. Pure. */
export function dnsName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '')
}

/**
 * A TXT record's value from its presentation format: the quoted strings
 * (`"part one" "part two"`, which is how a value longer than 255 bytes
 * arrives) joined, with `\"`, `\\` and `\DDD` (a byte, in decimal) escapes
 * read as UTF-8. Data that is not quoted (some resolvers) is taken as it is. Pure.
 */
export function txtValue(data: string): string {
  const trimmed = data.trim()
  if (!trimmed.startsWith('"')) return trimmed
  const encoder = new TextEncoder()
  const bytes: number[] = []
  let inString = false
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed[i]!
    if (!inString) {
      if (c === '"') inString = true
      continue
    }
    if (c === '"') {
      inString = false
    } else if (c === '\\' && i + 1 < trimmed.length) {
      const digits = trimmed.slice(i + 1, i + 4)
      if (/^\d{3}$/.test(digits) && Number(digits) < 256) {
        bytes.push(Number(digits))
        i += 3
      } else {
        const next = String.fromCodePoint(trimmed.codePointAt(i + 1)!)
        bytes.push(...encoder.encode(next))
        i += next.length
      }
    } else {
      const char = String.fromCodePoint(trimmed.codePointAt(i)!)
      bytes.push(...encoder.encode(char))
      i += char.length - 1
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes))
}

/** The values of the TXT records in an answer (following a CNAME the resolver followed). Pure. */
export function txtValues(answer: DnsAnswer): string[] {
  return answer.records.filter((r) => r.type === DNS_TYPES.TXT).map((r) => txtValue(r.data))
}

/** The CNAME target of `name` in an answer, lowercase and without the trailing dot; null when it has none. Pure. */
export function cnameOf(answer: DnsAnswer, name: string): string | null {
  const record = answer.records.find((r) => r.type === DNS_TYPES.CNAME && dnsName(r.name) === name)
  return record ? dnsName(record.data) : null
}

/** The addresses (A and AAAA) in an answer. Pure. */
export function addressesOf(answer: DnsAnswer): string[] {
  return answer.records.filter((r) => r.type === DNS_TYPES.A || r.type === DNS_TYPES.AAAA).map((r) => r.data)
}
