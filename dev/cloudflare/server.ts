/**
 * A local stand-in for the Cloudflare API, in Cloudflare's v4 envelope
 * `{success, errors, messages, result}`.
 *
 * The Cloudflare for SaaS custom hostnames API the gateway calls
 * (`/zones/{zone_id}/custom_hostnames`): create, list by hostname, get,
 * patch (re-validate), delete. Hostnames start pending with an ownership TXT
 * record and a certificate TXT record to publish, and turn active once
 * "published" (a control call, or after `autoValidateAfterMs`). Linked to the
 * DNS stand-in (`dns`), it validates as Cloudflare does, from DNS: the
 * hostname once its ownership TXT record is published there, the certificate
 * once its validation TXT record is; and "publishing" (the control call, or
 * the automatic one) publishes those records there, with the CNAME to
 * `cnameTarget`, as the partner would.
 *
 * The account endpoints `npm run preflight` reaches through wrangler (with
 * CLOUDFLARE_API_BASE_URL pointing here): a Worker's secret names
 * (`GET /accounts/{account}/workers/scripts/{script}/secrets`, what
 * `wrangler secret list` reads) and D1's query endpoint
 * (`POST /accounts/{account}/d1/database/{uuid}/query`, what `wrangler d1
 * migrations list --remote` and `d1 execute --remote` send), each database an
 * in-memory SQLite (node:sqlite). Tests seed them with `setSecrets`,
 * `createD1Database` and `markMigrationsApplied`.
 *
 * Misbehaviour for tests, per hostname so parallel tests do not meet:
 * rate limiting (429 + Retry-After), 5xx, slowness, a hostname claimed by
 * another account (code 1406), a hostname that moved away. A wrong API token
 * gets Cloudflare's 403 with code 10000.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type http from 'node:http'
import type { DatabaseSync } from 'node:sqlite'
import type { DnsStandIn } from '../dns/server.ts'
import { LocalServer, readBody, sendJson, sleep } from '../http.ts'

export interface CloudflareStandInOptions {
  zoneId: string
  apiToken: string
  port?: number
  /** Hostnames validate by themselves this long after creation (npm start); never when absent. */
  autoValidateAfterMs?: number
  /** The DNS stand-in the records are published to and validated from. */
  dns?: DnsStandIn
  /** What a published hostname is a CNAME to (CUSTOM_HOSTNAME_CNAME_TARGET). */
  cnameTarget?: string
  /** The account the token reaches (`/accounts/{id}/...`); another account is refused. */
  accountId?: string
}

/** What an account-scoped answer needs: the status and the v4 body. */
type Answer = [status: number, body: unknown]

/** The table `wrangler d1 migrations apply` keeps (wrangler's own DDL), for seeding. */
const D1_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS d1_migrations(
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT UNIQUE,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)`
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Outage drills besides those: `hang` (the request is accepted and never
 * answered, until the client gives up), `hang_up` (the connection is reset
 * before any answer), `gateway_timeout` (the 504 HTML page Cloudflare's edge
 * serves when the API behind it does not answer), `created_then_hang_up`
 * (a create that succeeds at Cloudflare whose answer is lost: the connection
 * is reset after the hostname was created).
 */
type Fault =
  | 'rate_limited'
  | 'server_error'
  | 'slow'
  | 'html_error'
  | 'hang'
  | 'hang_up'
  | 'gateway_timeout'
  | 'created_then_hang_up'

interface HostnameRecord {
  id: string
  hostname: string
  zoneId: string
  createdAt: number
  published: boolean
  movedAway: boolean
  ownershipValue: string
  certificateValue: string
}

function envelope(result: unknown, errors: Array<{ code: number; message: string }> = []) {
  return { success: errors.length === 0, errors, messages: [], result: errors.length === 0 ? result : null }
}

export class CloudflareStandIn extends LocalServer {
  readonly records = new Map<string, HostnameRecord>()
  /** hostname -> faults for the next requests about it */
  readonly faults = new Map<string, Fault[]>()
  /** Hostnames that belong to another account's zone. */
  readonly claimedElsewhere = new Set<string>()
  readonly calls: Array<{ method: string; path: string }> = []
  /** Worker script name -> its secrets' names (no values: the API never answers them). */
  readonly scripts = new Map<string, Set<string>>()
  /** D1 database uuid -> its SQLite database. */
  readonly databases = new Map<string, DatabaseSync>()
  private readonly options: CloudflareStandInOptions
  protected readonly serverName = 'cloudflare stand-in'

  constructor(options: CloudflareStandInOptions) {
    super()
    this.options = options
  }

  async listen(port = 0): Promise<string> {
    return this.serve(port, '127.0.0.1', (p) => `http://127.0.0.1:${p}/client/v4`)
  }

  /** The partner publishes the records: in the DNS stand-in when linked (the CNAME too), and marks it published. */
  private publishRecords(record: HostnameRecord): void {
    record.published = true
    const dns = this.options.dns
    if (!dns) return
    dns.publish(`_cf-custom-hostname.${record.hostname}`, 'TXT', record.ownershipValue)
    dns.publish(`_acme-challenge.${record.hostname}`, 'TXT', record.certificateValue)
    if (this.options.cnameTarget) dns.publish(record.hostname, 'CNAME', this.options.cnameTarget)
  }

  private view(record: HostnameRecord) {
    const auto = this.options.autoValidateAfterMs
    const published =
      !record.movedAway && (record.published || (auto !== undefined && Date.now() - record.createdAt >= auto))
    // As Cloudflare does: ownership and the certificate each validated from their TXT record in DNS.
    const dns = record.movedAway ? undefined : this.options.dns
    const owned = published || !!dns?.hasTxt(`_cf-custom-hostname.${record.hostname}`, record.ownershipValue)
    const validated = published || !!dns?.hasTxt(`_acme-challenge.${record.hostname}`, record.certificateValue)
    return {
      id: record.id,
      hostname: record.hostname,
      ssl: {
        id: `ssl-${record.id}`,
        type: 'dv',
        method: 'txt',
        status: validated ? 'active' : 'pending_validation',
        validation_records: validated
          ? []
          : [{ txt_name: `_acme-challenge.${record.hostname}`, txt_value: record.certificateValue }],
        validation_errors: validated
          ? undefined
          : [{ message: `TXT record not found at _acme-challenge.${record.hostname}` }],
        settings: { min_tls_version: '1.2' },
        bundle_method: 'ubiquitous',
        wildcard: false,
        certificate_authority: 'google',
      },
      status: record.movedAway ? 'moved' : owned ? 'active' : 'pending',
      verification_errors: owned || record.movedAway ? undefined : ['custom hostname does not CNAME to this zone.'],
      ownership_verification: {
        type: 'txt',
        name: `_cf-custom-hostname.${record.hostname}`,
        value: record.ownershipValue,
      },
      ownership_verification_http: {
        http_url: `http://${record.hostname}/.well-known/cf-custom-hostname-challenge/${record.id}`,
        http_body: record.ownershipValue,
      },
      created_at: new Date(record.createdAt).toISOString(),
    }
  }

  /**
   * Answers a queued fault for this hostname, if any; true when it answered.
   * On a create (`creating`), `created_then_hang_up` answers 'lose_answer': create it, then reset.
   */
  private async fault(
    res: http.ServerResponse,
    hostname: string | undefined,
    creating = false,
  ): Promise<boolean | 'lose_answer'> {
    const queue = hostname ? this.faults.get(hostname) : undefined
    const fault = queue?.shift()
    if (!fault) return false
    if (fault === 'slow') {
      await sleep(15_000)
      return false
    }
    if (fault === 'hang') {
      await new Promise<void>((resolve) => res.on('close', () => resolve()))
      return true
    }
    if (fault === 'hang_up') {
      res.socket?.destroy()
      return true
    }
    if (fault === 'gateway_timeout') {
      res.writeHead(504, { 'content-type': 'text/html' })
      res.end('<html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>')
      return true
    }
    if (fault === 'created_then_hang_up') {
      // Only a create can lose its answer after succeeding; elsewhere, the reset comes first.
      if (creating) return 'lose_answer'
      res.socket?.destroy()
      return true
    }
    if (fault === 'rate_limited') {
      sendJson(
        res,
        429,
        envelope(null, [
          { code: 10429, message: 'Rate limited. Please wait and consider throttling your request speed' },
        ]),
        { 'retry-after': '42' },
      )
    } else if (fault === 'html_error') {
      res.writeHead(502, { 'content-type': 'text/html' })
      res.end('<html><body>502 Bad Gateway</body></html>')
    } else {
      sendJson(res, 500, envelope(null, [{ code: 10000 + 2, message: 'Internal server error' }]))
    }
    return true
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const parts = url.pathname.split('/').filter(Boolean)
    if (parts[0] === '__control') return this.control(req, res, parts.slice(1))
    this.calls.push({ method: req.method ?? 'GET', path: url.pathname })

    const notRouted = () =>
      sendJson(
        res,
        404,
        envelope(null, [
          {
            code: 7003,
            message: `Could not route to ${url.pathname}, perhaps your object identifier is invalid?`,
          },
        ]),
      )
    const authenticated = req.headers.authorization === `Bearer ${this.options.apiToken}`
    if (parts[0] === 'client' && parts[1] === 'v4' && parts[2] === 'accounts') {
      const answer = authenticated
        ? await this.account(req, parts.slice(3))
        : ([403, envelope(null, [{ code: 10000, message: 'Authentication error' }])] satisfies Answer)
      if (!answer) return notRouted()
      return sendJson(res, answer[0], answer[1])
    }
    // /client/v4/zones/{zone}/custom_hostnames[/{id}]
    if (parts[0] !== 'client' || parts[1] !== 'v4' || parts[2] !== 'zones' || parts[4] !== 'custom_hostnames') {
      return notRouted()
    }
    if (!authenticated) {
      return sendJson(res, 403, envelope(null, [{ code: 10000, message: 'Authentication error' }]))
    }
    if (parts[3] !== this.options.zoneId) {
      return sendJson(res, 404, envelope(null, [{ code: 1003, message: 'Invalid or missing zone id.' }]))
    }
    const id = parts[5]

    if (req.method === 'POST' && !id) {
      const body = JSON.parse((await readBody(req)) || '{}') as {
        hostname?: string
        ssl?: { method?: string; type?: string }
      }
      const hostname = String(body.hostname ?? '').toLowerCase()
      const fault = await this.fault(res, hostname, true)
      if (fault === true) return
      const loseAnswer = fault === 'lose_answer'
      if (!/^[a-z0-9.-]+\.[a-z]{2,}$/.test(hostname))
        return sendJson(res, 400, envelope(null, [{ code: 1405, message: 'Invalid custom hostname.' }]))
      if (body.ssl?.method !== 'txt' && body.ssl?.method !== 'http')
        return sendJson(res, 400, envelope(null, [{ code: 1411, message: 'Invalid SSL method.' }]))
      const exists = [...this.records.values()].some((r) => r.hostname === hostname)
      if (exists || this.claimedElsewhere.has(hostname)) {
        return sendJson(res, 409, envelope(null, [{ code: 1406, message: 'Duplicate custom hostname found.' }]))
      }
      const record: HostnameRecord = {
        id: randomUUID(),
        hostname,
        zoneId: this.options.zoneId,
        createdAt: Date.now(),
        published: false,
        movedAway: false,
        ownershipValue: randomUUID(),
        certificateValue: randomBytes(24).toString('base64url'),
      }
      this.records.set(record.id, record)
      const auto = this.options.autoValidateAfterMs
      if (auto !== undefined && this.options.dns) {
        setTimeout(() => {
          if (this.records.get(record.id) === record && !record.movedAway) this.publishRecords(record)
        }, auto).unref()
      }
      if (loseAnswer) {
        res.socket?.destroy()
        return
      }
      return sendJson(res, 201, envelope(this.view(record)))
    }
    if (req.method === 'GET' && !id) {
      const hostname = url.searchParams.get('hostname')
      const list = [...this.records.values()]
        .filter((r) => !hostname || r.hostname === hostname)
        .map((r) => this.view(r))
      return sendJson(res, 200, {
        ...envelope(list),
        result_info: { page: 1, per_page: 20, count: list.length, total_count: list.length },
      })
    }
    const record = id ? this.records.get(id) : undefined
    if (await this.fault(res, record?.hostname)) return
    if (!record)
      return sendJson(res, 404, envelope(null, [{ code: 1436, message: 'The custom hostname was not found.' }]))
    if (req.method === 'GET') return sendJson(res, 200, envelope(this.view(record)))
    if (req.method === 'PATCH') {
      await readBody(req)
      return sendJson(res, 200, envelope(this.view(record)))
    }
    if (req.method === 'DELETE') {
      this.records.delete(record.id)
      return sendJson(res, 200, envelope({ id: record.id }))
    }
    return sendJson(res, 405, envelope(null, [{ code: 10405, message: 'Method not allowed' }]))
  }

  /** `/accounts/{account}/...`: a Worker's secrets, D1 queries. Undefined: no such route. */
  private async account(req: http.IncomingMessage, parts: string[]): Promise<Answer | undefined> {
    const [accountId, product, kind, id, action, ...rest] = parts
    if (rest.length > 0) return undefined
    const accountRefused = accountId !== (this.options.accountId ?? accountId)
    // GET /accounts/{account}/workers/scripts/{script}/secrets
    if (product === 'workers' && kind === 'scripts' && id && action === 'secrets' && req.method === 'GET') {
      if (accountRefused) return [403, envelope(null, [{ code: 10000, message: 'Authentication error' }])]
      const secrets = this.scripts.get(id)
      if (!secrets) return [404, envelope(null, [{ code: 10007, message: 'workers.api.error.script_not_found' }])]
      return [200, envelope([...secrets].sort().map((name) => ({ name, type: 'secret_text' })))]
    }
    // POST /accounts/{account}/d1/database/{uuid}/query
    if (product === 'd1' && kind === 'database' && id && action === 'query' && req.method === 'POST') {
      if (accountRefused) {
        return [
          403,
          envelope(null, [
            { code: 7403, message: 'The given account is not valid or is not authorized to access this service' },
          ]),
        ]
      }
      if (!UUID.test(id)) {
        return [400, envelope(null, [{ code: 7400, message: 'The request is malformed: failed to decode id' }])]
      }
      const db = this.databases.get(id.toLowerCase())
      if (!db) return [404, envelope(null, [{ code: 7404, message: `The database ${id} could not be found` }])]
      const body = JSON.parse((await readBody(req)) || '{}') as { sql?: string; params?: unknown[] }
      if (typeof body.sql !== 'string' || !body.sql.trim()) {
        return [400, envelope(null, [{ code: 7400, message: 'The request is malformed: sql is required' }])]
      }
      return this.query(db, body.sql, body.params ?? [])
    }
    return undefined
  }

  /**
   * Runs `sql` as D1 does: every statement (split as wrangler splits them) in
   * one transaction, one result per statement; an error rolls all back.
   */
  private async query(db: DatabaseSync, sql: string, params: unknown[]): Promise<Answer> {
    const { unstable_splitSqlQuery } = await import('wrangler')
    const statements = unstable_splitSqlQuery(sql)
    const results = []
    db.exec('BEGIN')
    try {
      for (const statement of statements) {
        const started = performance.now()
        const rows = db.prepare(statement).all(...(params as Array<string | number | null>))
        const { changes, last_row_id } = db
          .prepare('SELECT changes() AS changes, last_insert_rowid() AS last_row_id')
          .get() as { changes: number; last_row_id: number }
        const written = /^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b/i.test(statement)
        results.push({
          results: rows,
          success: true,
          meta: {
            changed_db: written,
            changes: written ? changes : 0,
            duration: performance.now() - started,
            last_row_id,
            rows_read: rows.length,
            rows_written: written ? changes : 0,
            size_after: 0,
          },
        })
      }
      db.exec('COMMIT')
    } catch (error) {
      db.exec('ROLLBACK')
      return [400, envelope(null, [{ code: 7500, message: `${(error as Error).message}: SQLITE_ERROR` }])]
    }
    return [200, envelope(results)]
  }

  /** The Worker `script` exists and has exactly these secrets set (`wrangler secret put`). */
  setSecrets(script: string, names: Iterable<string>): void {
    this.scripts.set(script, new Set(names))
  }

  /** A D1 database with this uuid (`wrangler d1 create`), empty. */
  async createD1Database(uuid: string): Promise<DatabaseSync> {
    const { DatabaseSync } = await import('node:sqlite')
    const db = new DatabaseSync(':memory:')
    this.databases.set(uuid.toLowerCase(), db)
    return db
  }

  /** Records migrations as applied, as `wrangler d1 migrations apply` does after running each. */
  markMigrationsApplied(uuid: string, names: string[]): void {
    const db = this.databases.get(uuid.toLowerCase())
    if (!db) throw new Error(`no D1 database ${uuid}: createD1Database first`)
    db.exec(D1_MIGRATIONS_TABLE)
    const insert = db.prepare('INSERT INTO d1_migrations (name) VALUES (?)')
    for (const name of names) insert.run(name)
  }

  private async control(req: http.IncomingMessage, res: http.ServerResponse, parts: string[]): Promise<void> {
    const body = JSON.parse((await readBody(req)) || '{}') as { hostname?: string; faults?: Fault[] }
    const hostname = body.hostname?.toLowerCase() ?? ''
    const record = [...this.records.values()].find((r) => r.hostname === hostname)
    switch (parts[0]) {
      case 'publish': // the partner published the DNS records
        if (!record) return sendJson(res, 404, { error: 'no such hostname' })
        this.publishRecords(record)
        return sendJson(res, 200, this.view(record))
      case 'move':
        if (!record) return sendJson(res, 404, { error: 'no such hostname' })
        record.movedAway = true
        // The partner pointed the name elsewhere.
        this.options.dns?.publish(record.hostname, 'CNAME', 'elsewhere.example')
        return sendJson(res, 200, this.view(record))
      case 'faults':
        this.faults.set(hostname, [...(body.faults ?? [])])
        return sendJson(res, 200, { hostname, faults: body.faults })
      case 'claim':
        this.claimedElsewhere.add(hostname)
        return sendJson(res, 200, { hostname })
      case 'records':
        return sendJson(
          res,
          200,
          [...this.records.values()].filter((r) => !hostname || r.hostname === hostname).map((r) => this.view(r)),
        )
      default:
        return sendJson(res, 404, { error: 'unknown control route' })
    }
  }
}

export async function startCloudflareStandIn(options: CloudflareStandInOptions): Promise<CloudflareStandIn> {
  const standIn = new CloudflareStandIn(options)
  await standIn.listen(options.port ?? 0)
  return standIn
}
