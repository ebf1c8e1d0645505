/**
 * A fleet of the issue's size written straight into the SQLite file behind
 * Miniflare's persisted D1 (`resourcePersistencePath`), with node:sqlite in
 * one transaction, while no workerd has it open: through the D1 binding a
 * million rows would take minutes of round trips; here prepared statements
 * run in-process. The schema is the migrations' (applied through D1 first,
 * as every bench does); the rows are what the admin API and Sync would have
 * written (lowercase identities, sort keys, tenant claims), so every CHECK
 * and index of the schema applies to them.
 *
 * The fleet: partners (one in twenty organizations) and their customers,
 * three in four nested (own hostnames), the others flat (inside their
 * partner's portal, no hostname); hostnames over the partners and nested
 * customers, three in four provider subdomains and one in four custom
 * domains, one in ten signing in with the direct callback, a few pending or
 * failed; one phone system per customer plus one per partner until the
 * count is reached, each in its own Entra tenant (claimed, trusted); SSO
 * users over them, 50 on average and a few lists large (tens of thousands).
 */
import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { seeded as random } from '../../src/sync/fleet.ts'

export interface FleetSize {
  organizations: number
  hostnames: number
  phoneSystems: number
  ssoUsers: number
}

/** The issue's fleet: 100,000 hostnames over 20,000 organizations, 1,000,000 SSO users over 20,000 phone systems. */
export const ISSUE_FLEET: FleetSize = {
  organizations: 20_000,
  hostnames: 100_000,
  phoneSystems: 20_000,
  ssoUsers: 1_000_000,
}

/** The seeded bench tenant's list, grown to this size among the others: sign-ins read a big list. */
export interface BigList {
  phoneSystemId: string
  tid: string
  /** Users to add to it (beyond those already listed). */
  extraUsers: number
}

export interface Seeded {
  seconds: number
  rows: Record<string, number>
  /** Active hostnames, in a random order spread over the whole fleet (the login bench's hosts). */
  activeHosts: string[]
}

/** The D1 database file Miniflare keeps under `persistDir` (there is one D1 binding). */
export function d1File(persistDir: string): string {
  const dir = path.join(persistDir, 'd1', 'miniflare-D1DatabaseObject')
  const name = readdirSync(dir).find((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite')
  if (!name) throw new Error(`no D1 database under ${dir}`)
  return path.join(dir, name)
}

/** The bytes of a SQLite database with its WAL and shared-memory files. */
export function fileBytes(file: string): number {
  return ['', '-wal', '-shm'].reduce((sum, suffix) => {
    try {
      return sum + statSync(`${file}${suffix}`).size
    } catch {
      return sum
    }
  }, 0)
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0')
/** A lowercase GUID made of a kind tag and a number (unique per kind). */
const guid = (tag: number, n: number) => `${hex(tag, 8)}-${hex(n >>> 16, 4)}-4${hex(n & 0xfff, 3)}-8000-${hex(n, 12)}`

/** List sizes for `phoneSystems` summing to `users`: a few large lists, the rest around the average. */
export function listSizes(phoneSystems: number, users: number): number[] {
  const sizes = new Array<number>(phoneSystems).fill(0)
  if (phoneSystems === 0) return sizes
  // One list in 2,000 holds 20,000 users and one in 200 holds 2,000 (when there are users enough for them).
  let left = users
  for (let i = 0; i < phoneSystems; i++) {
    const big = i % 2000 === 1 ? 20_000 : i % 200 === 7 ? 2_000 : 0
    if (big && big * 4 <= left) {
      sizes[i] = big
      left -= big
    }
  }
  const rest = sizes.map((s, i) => (s === 0 ? i : -1)).filter((i) => i >= 0)
  const rng = random(7)
  // The others share what is left, each around the mean (half to one and a half times it).
  const mean = left / Math.max(rest.length, 1)
  for (const i of rest) {
    const n = Math.min(left, Math.max(1, Math.round(mean * (0.5 + rng()))))
    sizes[i] = n
    left -= n
  }
  for (let k = 0; left > 0; k++) {
    sizes[rest[k % rest.length]!]! += 1
    left -= 1
  }
  return sizes
}

/**
 * Writes the fleet into `file` (a D1 database with the migrations applied and no workerd holding it open),
 * and grows `bigList` by its extra users. Answers the time it took, the rows written, and the active hosts.
 */
export function seedFleet(file: string, size: FleetSize, bigList: BigList | null): Seeded {
  const started = performance.now()
  const db = new DatabaseSync(file)
  const now = Date.now()
  const rows: Record<string, number> = {
    organizations: 0,
    hostnames: 0,
    phone_systems: 0,
    tenant_claims: 0,
    sso_users: 0,
  }
  const rng = random(42)
  db.exec('BEGIN')
  try {
    const org = db.prepare(
      `INSERT INTO organizations (id, kind, parent_id, structure, name, display_name, accent_color, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    const host = db.prepare(
      `INSERT INTO hostnames (hostname, org_id, kind, status, callback_mode, redirect_uri_registered, redirect_uri_app_id,
         redirect_uri_checked_at, cloudflare_id, checked_at, pending_since, next_check_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    const phone = db.prepare(
      `INSERT INTO phone_systems (id, org_id, name, web_client_url, handoff_url, entra_tenant_id, tenant_status,
         sso_list_version, next_sync_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 'trusted', 1, ?, ?, ?)`,
    )
    const claim = db.prepare(
      `INSERT INTO tenant_claims (tid, partner_id, status, proof, created_at, updated_at)
       VALUES (?, ?, 'trusted', '{"actor":"bench"}', ?, ?)`,
    )
    const user = db.prepare(
      `INSERT INTO sso_users (id, phone_system_id, tid, oid, upn, email, display_name, extension, sort_key, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )

    // Organizations: a partner, then its customers (nested three in four), and so on.
    const partners = Math.max(1, Math.round(size.organizations / 20))
    const partnerIds: string[] = []
    const hosting: string[] = []
    const customers: Array<{ id: string; partner: string }> = []
    for (let p = 0; p < partners; p++) {
      const id = `org_bp${p}`
      org.run(id, 'partner', null, null, `Partner ${p}`, `Partner ${p} Communications`, '#0f6cbd', now, now)
      partnerIds.push(id)
      hosting.push(id)
    }
    for (let c = 0; c < size.organizations - partners; c++) {
      const id = `org_bc${c}`
      const partner = partnerIds[c % partners]!
      const nested = c % 4 !== 3
      org.run(
        id,
        'customer',
        partner,
        nested ? 'nested' : 'flat',
        `Customer ${c}`,
        `Customer ${c} Inc.`,
        null,
        now,
        now,
      )
      customers.push({ id, partner })
      if (nested) hosting.push(id)
    }
    rows.organizations = partners + customers.length

    // Hostnames over the organizations that may own them.
    const activeHosts: string[] = []
    for (let h = 0; h < size.hostnames; h++) {
      const orgId = hosting[h % hosting.length]!
      const custom = h % 4 === 3
      const hostname = custom ? `login.c${h}.example` : `s${h}.localhost`
      const roll = rng()
      const status = roll < 0.02 ? 'pending' : roll < 0.03 ? 'failed' : 'active'
      const direct = status === 'active' && h % 10 === 1
      host.run(
        hostname,
        orgId,
        custom ? 'custom' : 'subdomain',
        status,
        direct ? 'direct' : 'central',
        direct ? 1 : 0,
        direct ? '00000000-0000-4000-8000-00000000c11e' : null,
        direct ? now - Math.floor(rng() * 86_400_000) : null,
        custom ? `cf-${h}` : null,
        custom ? now : null,
        status === 'active' ? null : now - Math.floor(rng() * 6 * 86_400_000),
        custom ? now + Math.floor(rng() * 86_400_000) : null,
        now,
        now,
      )
      if (status === 'active') activeHosts.push(hostname)
    }
    rows.hostnames = size.hostnames

    // Phone systems: one per customer, then one per partner, until the count; each in a tenant of its own.
    const owners = [
      ...customers.map((c) => ({ id: c.id, partner: c.partner })),
      ...partnerIds.map((id) => ({ id, partner: id })),
    ]
    const sizes = listSizes(size.phoneSystems, size.ssoUsers - (bigList?.extraUsers ?? 0))
    for (let s = 0; s < size.phoneSystems; s++) {
      const owner = owners[s % owners.length]!
      const id = `ps_b${s}`
      const tid = guid(0x7e4a0000, s)
      phone.run(
        id,
        owner.id,
        `PBX ${s}`,
        `https://pbx${s}.example/webclient`,
        `https://pbx${s}.example/sso`,
        tid,
        now + Math.floor(rng() * 6 * 3_600_000),
        now,
        now,
      )
      claim.run(tid, owner.partner, now, now)
      for (let u = 0; u < sizes[s]!; u++) {
        const name = `Member ${u} of ${s}`
        const account = `m${u}.ps${s}@tenant${s}.example`
        user.run(
          `su_b${s}_${u}`,
          id,
          tid,
          guid(s, u),
          account,
          account,
          name,
          String(100 + u),
          name.toLowerCase(),
          now,
          now,
        )
      }
      rows.sso_users += sizes[s]!
    }
    rows.phone_systems = size.phoneSystems
    rows.tenant_claims = size.phoneSystems

    // The bench tenant's list, grown to a big one: its users sign in; these others make it large.
    if (bigList) {
      for (let u = 0; u < bigList.extraUsers; u++) {
        const name = `Colleague ${u}`
        const account = `colleague${u}@acme.example`
        user.run(
          `su_big_${u}`,
          bigList.phoneSystemId,
          bigList.tid,
          guid(0xb16b0000, u),
          account,
          account,
          name,
          String(5000 + u),
          name.toLowerCase(),
          now,
          now,
        )
      }
      rows.sso_users += bigList.extraUsers
    }
    db.exec('COMMIT')
    // Spread over the whole fleet, in no order a cache could take advantage of.
    for (let i = activeHosts.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1))
      ;[activeHosts[i], activeHosts[j]] = [activeHosts[j]!, activeHosts[i]!]
    }
    return { seconds: (performance.now() - started) / 1000, rows, activeHosts }
  } catch (error) {
    db.exec('ROLLBACK')
    throw error
  } finally {
    db.close()
  }
}
