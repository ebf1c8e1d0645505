/**
 * The diagnosis of a login hostname (`POST …/hostnames/{hostname}/diagnose`),
 * the pure half: what DNS and Cloudflare said (read by `service.ts`), compared
 * with what they should say, and turned into problems, each with the exact
 * action that fixes it. Nothing here reads or writes anything.
 */
import * as z from 'zod/mini'
import { HOSTNAME_KINDS, HOSTNAME_STATUSES, type HostnameRow, type HostnameVerification } from '../db/schema'
import { iso, isoOrNull } from '../lib/time'
import type { CfCustomHostname } from '../upstream/cloudflare'
import { addressesOf, cnameOf, type DnsAnswer, txtValues } from '../upstream/doh'
import { mapCloudflareStatus, verificationOf } from './cloudflare-status'

/** A check ran (`checked`), could not run now (`unavailable`, with the reason), or does not apply to this hostname. */
export type CheckState = 'checked' | 'unavailable' | 'not_applicable'

/** What DNS answered, as read. */
export interface DnsReading {
  /** The CNAME query for the hostname. */
  cname: DnsAnswer
  /** The A query for the hostname, made only when it has no CNAME (does it resolve at all?). */
  address: DnsAnswer | null
  /** The TXT query for each record name asked about. */
  txt: Map<string, DnsAnswer>
}

export type DnsFindings =
  | { state: 'checked'; reading: DnsReading }
  | { state: 'unavailable' | 'not_applicable'; reason: string }

export type CloudflareFindings =
  | { state: 'checked'; hostname: CfCustomHostname | null }
  | { state: 'unavailable' | 'not_applicable'; reason: string }

export interface DiagnosisInput {
  row: HostnameRow
  /** `https://{hostname}/sso/callback`: what a direct host needs registered. */
  callbackUri: string
  /** CUSTOM_HOSTNAME_CNAME_TARGET, or null when not configured. */
  cnameTarget: string | null
  dns: DnsFindings
  cloudflare: CloudflareFindings
  now: number
  /** How fixes name the gateway's own actions; the API's calls by default. */
  words?: ActionWords
}

/**
 * The gateway's own actions as a fix names them: the admin API's calls, or
 * the console's buttons. Each is a phrase that follows "then" or starts a
 * sentence once capitalized.
 */
export interface ActionWords {
  /** Re-read Cloudflare and store its status: "run POST …/check". */
  check: string
  /** The same action as a noun: "POST …/check". */
  checkName: string
  /** Run the diagnosis again: "diagnose again (POST …/diagnose)". */
  diagnoseAgain: string
  /** Start validation over: "detach it (DELETE …) and attach it again (POST …)". */
  reattach: string
}

export function apiWords(row: Pick<HostnameRow, 'hostname' | 'orgId'>): ActionWords {
  const h = row.hostname
  return {
    check: `run POST ${API}/hostnames/${h}/check`,
    checkName: `POST ${API}/hostnames/${h}/check`,
    diagnoseAgain: `diagnose again in a minute (POST ${API}/hostnames/${h}/diagnose)`,
    reattach: `detach it (DELETE ${API}/hostnames/${h}) and attach it again (POST ${API}/orgs/${row.orgId}/hostnames)`,
  }
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1)

/** How many certificate validation records are read (Cloudflare lists one, two with a wildcard). */
export const MAX_CERTIFICATE_RECORDS = 3

/**
 * The records to publish: as Cloudflare lists them now, else as the row
 * stored them when Cloudflare could not be read. Null when there are none to
 * know (no Cloudflare, or Cloudflare no longer has the hostname).
 */
export function expectedRecords(row: HostnameRow, cloudflare: CloudflareFindings): HostnameVerification | null {
  if (cloudflare.state === 'checked') return cloudflare.hostname ? verificationOf(cloudflare.hostname) : null
  return cloudflare.state === 'unavailable' ? row.verification : null
}

/** The TXT names worth a DNS query: the ownership record and the first certificate TXT records. */
export function txtNamesToRead(expected: HostnameVerification | null): string[] {
  if (!expected) return []
  const names = [
    ...(expected.ownership ? [expected.ownership.name] : []),
    ...expected.certificate
      .filter((r) => r.type === 'txt')
      .slice(0, MAX_CERTIFICATE_RECORDS)
      .map((r) => r.name),
  ]
  return [...new Set(names.map((name) => name.toLowerCase()))]
}

/** Whether the hostname's A records are worth a query: it has no CNAME (does it resolve some other way?). */
export function needsAddressLookup(cname: DnsAnswer, hostname: string): boolean {
  return cname.rcode === 'NOERROR' && cnameOf(cname, hostname) === null
}

// ---------------------------------------------------------------- the answer

const checkState = z.enum(['checked', 'unavailable', 'not_applicable'])

const txtCheckSchema = z.object({
  name: z.string(),
  expected: z.string(),
  found: z.array(z.string()),
  status: z.enum(['ok', 'missing', 'wrong']),
  /** false once Cloudflare has validated what the record proves (it may then be removed). */
  required: z.boolean(),
})
type TxtCheck = z.output<typeof txtCheckSchema>

const cnameCheckSchema = z.object({
  name: z.string(),
  expected: z.nullable(z.string()),
  found: z.nullable(z.string()),
  addresses: z.array(z.string()),
  status: z.enum(['ok', 'wrong_target', 'not_cname', 'missing', 'not_checked']),
})
type CnameCheck = z.output<typeof cnameCheckSchema>

export const problemSchema = z.object({ code: z.string(), message: z.string(), fix: z.string() })
export type Problem = z.output<typeof problemSchema>

export const diagnosisSchema = z.object({
  hostname: z.string(),
  organizationId: z.string(),
  kind: z.enum(HOSTNAME_KINDS),
  ok: z.boolean(),
  summary: z.string(),
  stored: z.object({
    status: z.enum(HOSTNAME_STATUSES),
    statusDetail: z.nullable(z.string()),
    checkedAt: z.nullable(z.string()),
    nextCheckAt: z.nullable(z.string()),
  }),
  dns: z.object({
    state: checkState,
    reason: z.nullable(z.string()),
    cname: z.nullable(cnameCheckSchema),
    ownership: z.nullable(txtCheckSchema),
    certificate: z.array(txtCheckSchema),
  }),
  cloudflare: z.object({
    state: checkState,
    reason: z.nullable(z.string()),
    status: z.nullable(z.string()),
    sslStatus: z.nullable(z.string()),
    verificationErrors: z.array(z.string()),
    /** What `…/check` would store now. */
    statusIfChecked: z.nullable(z.enum(HOSTNAME_STATUSES)),
  }),
  redirectUri: z.object({
    callbackMode: z.enum(['central', 'direct']),
    required: z.boolean(),
    uri: z.nullable(z.string()),
    registered: z.boolean(),
    detail: z.nullable(z.string()),
  }),
  problems: z.array(problemSchema),
  diagnosedAt: z.string(),
})
export type Diagnosis = z.output<typeof diagnosisSchema>

const API = '/api/v1'

/** Quoted values, as a person would read them in a message: "a", "b". */
function quoted(values: string[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ')
}

function checkCname(hostname: string, target: string | null, reading: DnsReading): CnameCheck {
  const found = cnameOf(reading.cname, hostname)
  const addresses = reading.address ? addressesOf(reading.address) : []
  const base = { name: hostname, expected: target, found, addresses }
  if (target === null) return { ...base, status: 'not_checked' }
  if (found !== null) return { ...base, status: found === target ? 'ok' : 'wrong_target' }
  return { ...base, status: addresses.length > 0 ? 'not_cname' : 'missing' }
}

function checkTxt(name: string, expected: string, reading: DnsReading, required: boolean): TxtCheck {
  const answer = reading.txt.get(name.toLowerCase())
  const found = answer ? txtValues(answer) : []
  const status = found.includes(expected) ? 'ok' : found.length > 0 ? 'wrong' : 'missing'
  return { name, expected, found, status, required }
}

function cnameProblem(check: CnameCheck, reading: DnsReading): Problem | null {
  const { name, expected, found, addresses } = check
  const point = `Point ${name} at ${expected} with a CNAME record`
  switch (check.status) {
    case 'wrong_target':
      return {
        code: 'cname_wrong_target',
        message: `${name} is a CNAME to ${found}, not to ${expected}, so its traffic does not reach the gateway`,
        fix: `${point} (it currently points at ${found})`,
      }
    case 'not_cname':
      return {
        code: 'cname_not_cname',
        message: `${name} answers with addresses (${addresses.join(', ')}) instead of a CNAME to ${expected}: an A record, or CNAME flattening at the zone apex, which the gateway cannot tell apart from pointing elsewhere`,
        fix: `${point} (it currently answers with the address records ${addresses.join(', ')}: remove them)`,
      }
    case 'missing':
      return {
        code: 'cname_missing',
        message:
          reading.cname.rcode === 'NXDOMAIN'
            ? `${name} does not exist in DNS (NXDOMAIN)`
            : `${name} has no CNAME and no address record in DNS`,
        fix: `${point} (it currently has no record)`,
      }
    default:
      return null
  }
}

function txtProblem(check: TxtCheck, what: 'ownership' | 'certificate', hostname: string): Problem | null {
  if (!check.required || check.status === 'ok') return null
  const record =
    what === 'ownership'
      ? `The ownership TXT record ${check.name}`
      : `The certificate validation TXT record ${check.name}`
  const why =
    what === 'ownership'
      ? `Cloudflare needs it to verify that ${hostname} is yours`
      : `Cloudflare needs it to issue the certificate for ${hostname}`
  if (check.status === 'missing') {
    return {
      code: `${what}_txt_missing`,
      message: `${record} is not published (${why})`,
      fix: `Publish a TXT record ${check.name} with the value ${check.expected}`,
    }
  }
  return {
    code: `${what}_txt_wrong`,
    message: `${record} holds ${quoted(check.found)}, not the value Cloudflare expects (${why})`,
    fix: `Change the TXT record ${check.name} to the value ${check.expected} (it currently holds ${quoted(check.found)})`,
  }
}

/** The diagnosis: findings compared with what should be, and every problem with its fix. */
export function diagnose(input: DiagnosisInput): Diagnosis {
  const { row, dns, cloudflare, cnameTarget } = input
  const h = row.hostname
  const words = input.words ?? apiWords(row)
  const { reattach } = words
  const problems: Problem[] = []

  // ---- Cloudflare, as it is now
  const seen = cloudflare.state === 'checked' ? cloudflare.hostname : null
  const mapped = seen ? mapCloudflareStatus(seen) : null
  const cloudflareView: Diagnosis['cloudflare'] = {
    state: cloudflare.state,
    reason: cloudflare.state === 'checked' ? null : cloudflare.reason,
    status: seen?.status ?? null,
    sslStatus: seen?.ssl?.status ?? null,
    verificationErrors: [
      ...(seen?.verification_errors ?? []),
      ...(seen?.ssl?.validation_errors ?? []).flatMap((e) => (e.message ? [e.message] : [])),
    ],
    // Cloudflare no longer having the hostname is what …/check stores as failed.
    statusIfChecked: cloudflare.state === 'checked' ? (mapped?.status ?? 'failed') : null,
  }
  // Has Cloudflare validated ownership / the certificate? From Cloudflare now, else from the stored status.
  const ownershipValidated = seen ? seen.status === 'active' : row.status === 'active'
  const certificateValidated = seen ? seen.ssl?.status === 'active' : row.status === 'active'

  // ---- DNS, as it is now
  const expected = expectedRecords(row, cloudflare)
  let dnsView: Diagnosis['dns'] = {
    state: dns.state,
    reason: dns.state === 'checked' ? null : dns.reason,
    cname: null,
    ownership: null,
    certificate: [],
  }
  if (dns.state === 'checked') {
    const { reading } = dns
    const cname = checkCname(h, cnameTarget, reading)
    const ownership = expected?.ownership
      ? checkTxt(expected.ownership.name, expected.ownership.value, reading, !ownershipValidated)
      : null
    const certificate = (expected?.certificate ?? [])
      .filter((r) => r.type === 'txt')
      .slice(0, MAX_CERTIFICATE_RECORDS)
      .map((r) => checkTxt(r.name, r.value, reading, !certificateValidated))
    dnsView = { ...dnsView, cname, ownership, certificate }
    const found = [
      cnameProblem(cname, reading),
      ownership && txtProblem(ownership, 'ownership', h),
      ...certificate.map((c) => txtProblem(c, 'certificate', h)),
    ]
    for (const problem of found) if (problem) problems.push(problem)
  } else if (dns.state === 'unavailable') {
    problems.push({
      code: 'dns_unavailable',
      message: `DNS could not be read now: ${dns.reason}`,
      fix: `${capitalized(words.diagnoseAgain)}; the rest of this answer stands`,
    })
  }
  // Problems DNS showed (its being unavailable shows none).
  const dnsProblems = dns.state === 'checked' ? problems.length : 0

  // ---- Cloudflare's verdict
  if (cloudflare.state === 'unavailable') {
    problems.push({
      code: 'cloudflare_unavailable',
      message: `Cloudflare could not be read now: ${cloudflare.reason}`,
      fix: `${capitalized(words.diagnoseAgain)}; the rest of this answer stands`,
    })
  } else if (cloudflare.state === 'checked' && !seen) {
    problems.push({
      code: 'cloudflare_missing',
      message: 'Cloudflare no longer has this custom hostname (it was deleted there), so it cannot be validated',
      fix: `Publish its DNS records again if needed, then ${reattach}`,
    })
  } else if (mapped?.status === 'failed') {
    problems.push({
      code: 'cloudflare_failed',
      message: mapped.detail ?? 'Cloudflare gave up validating this hostname',
      fix: `Fix the DNS records${dnsProblems > 0 ? ' as the problems above say' : ''}, then ${reattach} to start validation over`,
    })
  } else if (mapped?.status === 'moved') {
    problems.push({
      code: 'cloudflare_moved',
      message: "Cloudflare reports the hostname moved: its DNS no longer points at the provider's zone",
      fix: `${cnameTarget ? `Point ${h} at ${cnameTarget} with a CNAME record` : `Point ${h} back at the provider's CNAME target`}, then ${words.check}`,
    })
  } else if (mapped?.status === 'pending' && dnsProblems === 0) {
    const said = cloudflareView.verificationErrors.length
      ? ` (Cloudflare says: ${cloudflareView.verificationErrors.join('; ')})`
      : ''
    const issuing = seen?.status === 'active' && (expected?.certificate.length ?? 0) === 0
    problems.push(
      issuing
        ? {
            code: 'cloudflare_pending',
            message: `Cloudflare has verified the hostname and is still issuing or deploying its certificate (${seen?.ssl?.status ?? 'initializing'}); DNS needs nothing more`,
            fix: `Nothing to publish: ${words.check} again in a few minutes (the schedule does it too)`,
          }
        : dns.state === 'checked'
          ? {
              code: 'cloudflare_pending',
              message: `DNS has every record Cloudflare asks for, but Cloudflare has not validated them yet${said}`,
              fix: `${capitalized(words.check)} to have Cloudflare validate again now (a DNS change can take as long as the record's TTL to be seen)`,
            }
          : {
              code: 'cloudflare_pending',
              message: `Cloudflare has not validated the hostname yet${said}`,
              fix: `${publishAll(h, cnameTarget, expected)}, then ${words.check}`,
            },
    )
  }

  // ---- the stored status, which only …/check and the schedule change
  if (mapped && mapped.status !== row.status) {
    problems.push({
      code: 'status_outdated',
      message: `Cloudflare now reports the hostname ${mapped.status}, but the gateway has it stored as ${row.status}${row.status === 'pending' ? ' (it shows "being set up" until then)' : ''}`,
      fix: `${capitalized(words.check)} to store Cloudflare's status now${scheduled(row.nextCheckAt, input.now)}`,
    })
  }

  // ---- the redirect URI (direct callback mode)
  const direct = row.callbackMode === 'direct'
  const redirectUri: Diagnosis['redirectUri'] = direct
    ? {
        callbackMode: 'direct',
        required: true,
        uri: input.callbackUri,
        registered: row.redirectUriRegistered,
        detail: row.redirectUriDetail,
      }
    : {
        callbackMode: 'central',
        required: false,
        uri: null,
        registered: false,
        detail: 'Central callback: Entra returns to the primary host, so this host needs no redirect URI of its own',
      }
  if (direct && row.status === 'active' && !row.redirectUriRegistered) {
    problems.push({
      code: 'redirect_uri_not_registered',
      message: `${input.callbackUri} is not registered on the portal's Entra app, so ${h} signs in through the central callback${row.redirectUriDetail ? ` (${row.redirectUriDetail})` : ''}`,
      fix: `${capitalized(words.check)} to register ${input.callbackUri} again; if it still fails, its redirectUriDetail says what the Entra app needs`,
    })
  }

  const count = problems.length
  const found = count === 0 ? 'No problems found.' : `${count} problem${count === 1 ? '' : 's'} found.`
  return {
    hostname: h,
    organizationId: row.orgId,
    kind: row.kind,
    ok: count === 0,
    summary: `${found} Nothing was changed: the stored status (${row.status}) stays as it is until ${words.checkName} (or the schedule) re-reads Cloudflare and stores it.`,
    stored: {
      status: row.status,
      statusDetail: row.statusDetail,
      checkedAt: isoOrNull(row.checkedAt),
      nextCheckAt: isoOrNull(row.nextCheckAt),
    },
    dns: dnsView,
    cloudflare: cloudflareView,
    redirectUri,
    problems,
    diagnosedAt: iso(input.now),
  }
}

/** When the schedule would store it otherwise (it runs every 5 minutes, so a due check waits for the next run). */
function scheduled(nextCheckAt: number | null, now: number): string {
  if (nextCheckAt === null) return ''
  return nextCheckAt > now ? ` (the schedule would at ${iso(nextCheckAt)})` : ' (the schedule would within 5 minutes)'
}

/** Every record to publish, in one sentence (when DNS could not be read to say which one is wrong). */
function publishAll(hostname: string, target: string | null, expected: HostnameVerification | null): string {
  const records = [
    ...(target ? [`a CNAME record ${hostname} pointing at ${target}`] : []),
    ...(expected?.ownership
      ? [`a TXT record ${expected.ownership.name} with the value ${expected.ownership.value}`]
      : []),
    ...(expected?.certificate ?? [])
      .filter((r) => r.type === 'txt')
      .map((r) => `a TXT record ${r.name} with the value ${r.value}`),
  ]
  return records.length
    ? `Make sure DNS has ${records.join(', and ')}`
    : 'Publish the DNS records listed under verification'
}
