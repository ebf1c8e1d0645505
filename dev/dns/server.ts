/**
 * A local stand-in for a DNS over HTTPS resolver's JSON API, as Cloudflare's
 * 1.1.1.1 (`https://cloudflare-dns.com/dns-query`) answers it:
 * `GET /dns-query?name=…&type=…` with `accept: application/dns-json` (or
 * `ct=application/dns-json`), answered `application/dns-json`:
 * `{Status, TC, RD, RA, AD, CD, Question, Answer?, Authority?}`. Status 0 is
 * NOERROR (with or without records: a name that exists, or has names below
 * it, answers NOERROR with no Answer for a type it lacks), 3 NXDOMAIN (with
 * the zone's SOA under Authority). Names are answered fully qualified, with
 * their trailing dot; a query name is read with or without one, case
 * insensitively. Records carry their type number (A 1, CNAME 5, TXT 16,
 * AAAA 28); a CNAME's data is its target with a trailing dot, a TXT record's
 * data is its value quoted (split into 255-character strings, `"` and `\`
 * escaped), and a query for another type at a CNAME follows it, answering
 * the CNAME first, as a recursive resolver does.
 *
 * Records are whatever it is told to publish (`publish()` in-process, or
 * `POST /__control/publish` from tests inside workerd); nothing is ever
 * looked up on the real internet. Failing modes, per name (and every name
 * below it), so parallel tests do not meet: `server_error` (HTTP 500, an
 * HTML page), `stall` (the request is never answered, until the client
 * gives up), `malformed` (a 200 whose body is cut-off JSON), `servfail`
 * (Status 2, with the extended error a real resolver adds), `hang_up` (the
 * connection is reset), `oversized` (a 200 of 1 MiB).
 *
 * @see https://developers.cloudflare.com/1.1.1.1/encryption/dns-over-https/make-api-requests/dns-json/
 * @see https://developers.google.com/speed/public-dns/docs/doh/json
 */
import type http from 'node:http'
import { LocalServer, readBody, sendJson } from '../http.ts'

export const DNS_TYPE_NUMBERS = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  CAA: 257,
  ANY: 255,
} as const
export type PublishableType = 'A' | 'AAAA' | 'CNAME' | 'TXT'
export type DnsFault = 'server_error' | 'stall' | 'malformed' | 'servfail' | 'hang_up' | 'oversized'

export interface DnsRecordEntry {
  type: PublishableType
  value: string
  ttl: number
}

export interface DnsStandInOptions {
  port?: number
}

const DNS_JSON = 'application/dns-json'
const MAX_CNAME_HOPS = 8

/** A query name as stored: lowercase, without the trailing dot; null when it is not a valid DNS name. */
function normalizeName(raw: string): string | null {
  const name = (raw.endsWith('.') ? raw.slice(0, -1) : raw).toLowerCase()
  if (name.length < 1 || name.length > 253) return null
  for (const label of name.split('.')) if (label.length < 1 || label.length > 63) return null
  return name
}

/** A TXT value in presentation format: quoted strings of at most 255 characters, `"` and `\` escaped. */
export function txtPresentation(value: string): string {
  const chunks = value.length === 0 ? [''] : (value.match(/[\s\S]{1,255}/g) ?? [''])
  return chunks.map((chunk) => `"${chunk.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(' ')
}

export class DnsStandIn extends LocalServer {
  /** name (lowercase, no trailing dot) -> its records */
  readonly records = new Map<string, DnsRecordEntry[]>()
  /** name -> the failing mode of every query for it and the names below it */
  readonly faults = new Map<string, DnsFault>()
  /** Every query asked, in order. */
  readonly queries: Array<{ name: string; type: string }> = []
  protected readonly serverName = 'dns stand-in'

  async listen(port = 0): Promise<string> {
    return this.serve(port, '127.0.0.1', (p) => `http://127.0.0.1:${p}/dns-query`)
  }

  /**
   * Publishes a record. A CNAME replaces everything at its name (nothing may
   * live beside a CNAME), and anything else published at a CNAME's name
   * replaces the CNAME; other records add to what is there.
   */
  publish(rawName: string, type: PublishableType, value: string, ttl = 300): void {
    const name = normalizeName(rawName)
    if (!name) throw new Error(`not a DNS name: ${rawName}`)
    const stored = type === 'CNAME' ? value.toLowerCase().replace(/\.$/, '') : value
    const existing = this.records.get(name) ?? []
    const kept = type === 'CNAME' ? [] : existing.filter((r) => r.type !== 'CNAME')
    if (!kept.some((r) => r.type === type && r.value === stored)) kept.push({ type, value: stored, ttl })
    this.records.set(name, kept)
  }

  /** Removes the records of `type` (every type when absent; one value when given) at a name. */
  unpublish(rawName: string, type?: PublishableType, value?: string): void {
    const name = normalizeName(rawName)
    if (!name) return
    const kept = (this.records.get(name) ?? []).filter(
      (r) => (type !== undefined && r.type !== type) || (value !== undefined && r.value !== value),
    )
    if (kept.length) this.records.set(name, kept)
    else this.records.delete(name)
  }

  /** Whether a TXT record with exactly this value is published at a name. */
  hasTxt(rawName: string, value: string): boolean {
    const name = normalizeName(rawName)
    return !!name && (this.records.get(name) ?? []).some((r) => r.type === 'TXT' && r.value === value)
  }

  /** Sets (or, with null, clears) the failing mode of a name and the names below it. */
  setFault(rawName: string, fault: DnsFault | null): void {
    const name = normalizeName(rawName)
    if (!name) return
    if (fault) this.faults.set(name, fault)
    else this.faults.delete(name)
  }

  private faultFor(name: string): DnsFault | undefined {
    for (let at = name; ; ) {
      const fault = this.faults.get(at)
      if (fault) return fault
      const dot = at.indexOf('.')
      if (dot === -1) return undefined
      at = at.slice(dot + 1)
    }
  }

  /** A name exists when it has records or a name below it has (an empty non-terminal). */
  private exists(name: string): boolean {
    if (this.records.has(name)) return true
    for (const other of this.records.keys()) if (other.endsWith(`.${name}`)) return true
    return false
  }

  private soa(name: string) {
    const apex = name.split('.').slice(-2).join('.')
    return {
      name: `${apex}.`,
      type: DNS_TYPE_NUMBERS.SOA,
      TTL: 1800,
      data: `ns1.dns-stand-in.localhost. hostmaster.dns-stand-in.localhost. 1 10000 2400 604800 1800`,
    }
  }

  /** The answer to a query: follows CNAMEs (but for a CNAME query), NXDOMAIN for a name that does not exist. */
  resolve(name: string, type: number): { Status: number; Answer: unknown[]; Authority: unknown[] } {
    const answer: Array<{ name: string; type: number; TTL: number; data: string }> = []
    let current = name
    for (let hops = 0; ; hops++) {
      const here = this.records.get(current) ?? []
      const cname = here.find((r) => r.type === 'CNAME')
      if (cname && type !== DNS_TYPE_NUMBERS.CNAME && type !== DNS_TYPE_NUMBERS.ANY && hops < MAX_CNAME_HOPS) {
        answer.push({ name: `${current}.`, type: DNS_TYPE_NUMBERS.CNAME, TTL: cname.ttl, data: `${cname.value}.` })
        current = cname.value
        continue
      }
      for (const record of here) {
        const number = DNS_TYPE_NUMBERS[record.type]
        if (number !== type && type !== DNS_TYPE_NUMBERS.ANY) continue
        answer.push({
          name: `${current}.`,
          type: number,
          TTL: record.ttl,
          data:
            record.type === 'TXT'
              ? txtPresentation(record.value)
              : record.type === 'CNAME'
                ? `${record.value}.`
                : record.value,
        })
      }
      const exists = this.exists(current)
      const matched = answer.some((r) => r.type === type || type === DNS_TYPE_NUMBERS.ANY)
      return {
        Status: exists ? 0 : 3,
        Answer: answer,
        Authority: matched ? [] : [this.soa(current)],
      }
    }
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const parts = url.pathname.split('/').filter(Boolean)
    if (parts[0] === '__control') return this.control(req, res, parts.slice(1), url)
    if (url.pathname !== '/dns-query') return sendJson(res, 404, { error: 'Not found' })
    if (req.method !== 'GET') {
      return sendJson(res, 405, { error: 'The JSON API answers GET only' })
    }
    const wantsJson = (req.headers.accept ?? '').includes(DNS_JSON) || url.searchParams.get('ct') === DNS_JSON
    if (!wantsJson) {
      // Without the JSON media type the endpoint speaks RFC 8484 wire format, which needs ?dns=.
      return sendJson(res, 400, { error: 'Expected ?dns= (application/dns-message) or accept: application/dns-json' })
    }
    const rawName = url.searchParams.get('name') ?? ''
    const name = normalizeName(rawName)
    if (!name) return sendJson(res, 400, { error: `Invalid query name \`${rawName}\`` })
    const rawType = (url.searchParams.get('type') ?? 'A').toUpperCase()
    const type = /^\d{1,5}$/.test(rawType)
      ? Number(rawType)
      : DNS_TYPE_NUMBERS[rawType as keyof typeof DNS_TYPE_NUMBERS]
    if (type === undefined || type < 1 || type > 65535) {
      return sendJson(res, 400, { error: `Invalid query type \`${rawType}\`` })
    }
    this.queries.push({ name, type: rawType })

    const question = [{ name: rawName.endsWith('.') ? rawName : `${rawName}.`, type }]
    const header = { TC: false, RD: true, RA: true, AD: false, CD: false }
    const fault = this.faultFor(name)
    if (fault === 'stall') {
      await new Promise<void>((resolve) => res.on('close', () => resolve()))
      return
    }
    if (fault === 'hang_up') {
      res.socket?.destroy()
      return
    }
    if (fault === 'server_error') {
      res.writeHead(500, { 'content-type': 'text/html' })
      res.end('<html><body><h1>500 Internal Server Error</h1></body></html>')
      return
    }
    if (fault === 'malformed') {
      res.writeHead(200, { 'content-type': DNS_JSON })
      res.end(`{"Status": 0, "TC": false, "Question": [{"name": "${name}.", "type": ${type}}], "Answer": [{"name": `)
      return
    }
    if (fault === 'oversized') {
      res.writeHead(200, { 'content-type': DNS_JSON })
      res.end(JSON.stringify({ Status: 0, ...header, Question: question, Comment: 'x'.repeat(1024 * 1024) }))
      return
    }
    if (fault === 'servfail') {
      return this.answer(res, {
        Status: 2,
        ...header,
        Question: question,
        Comment: [`EDE(22): No Reachable Authority (at delegation ${name}.)`],
      })
    }
    const { Status, Answer, Authority } = this.resolve(name, type)
    return this.answer(res, {
      Status,
      ...header,
      Question: question,
      ...(Answer.length ? { Answer } : {}),
      ...(Authority.length ? { Authority } : {}),
    })
  }

  private answer(res: http.ServerResponse, body: unknown): void {
    res.writeHead(200, { 'content-type': DNS_JSON, 'cache-control': 'max-age=300' })
    res.end(JSON.stringify(body))
  }

  private async control(req: http.IncomingMessage, res: http.ServerResponse, parts: string[], url: URL): Promise<void> {
    const body = JSON.parse((await readBody(req)) || '{}') as {
      name?: string
      type?: PublishableType
      value?: string
      ttl?: number
      fault?: DnsFault | null
    }
    const name = normalizeName(body.name ?? url.searchParams.get('name') ?? '')
    switch (parts[0]) {
      case 'publish':
        if (!name || !body.type || body.value === undefined) return sendJson(res, 400, { error: 'name, type, value' })
        this.publish(name, body.type, body.value, body.ttl)
        return sendJson(res, 200, { name, records: this.records.get(name) ?? [] })
      case 'unpublish':
        if (!name) return sendJson(res, 400, { error: 'name' })
        this.unpublish(name, body.type, body.value)
        return sendJson(res, 200, { name, records: this.records.get(name) ?? [] })
      case 'fault':
        if (!name) return sendJson(res, 400, { error: 'name' })
        this.setFault(name, body.fault ?? null)
        return sendJson(res, 200, { name, fault: body.fault ?? null })
      case 'records':
        return sendJson(res, 200, name ? (this.records.get(name) ?? []) : Object.fromEntries(this.records))
      case 'queries':
        // The queries about a name and the names below it.
        return sendJson(
          res,
          200,
          this.queries.filter((q) => !name || q.name === name || q.name.endsWith(`.${name}`)),
        )
      default:
        return sendJson(res, 404, { error: 'unknown control route' })
    }
  }
}

export async function startDnsStandIn(options: DnsStandInOptions = {}): Promise<DnsStandIn> {
  const standIn = new DnsStandIn()
  await standIn.listen(options.port ?? 0)
  return standIn
}
