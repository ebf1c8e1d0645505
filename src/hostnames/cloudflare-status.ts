/**
 * Reading a Cloudflare for SaaS custom hostname as one status a partner can
 * act on. Cloudflare verifies the hostname (ownership) and its certificate
 * separately, each with a dozen states; what matters is three: serving
 * (both active), still going (pending, with what is missing), and stuck for
 * good (blocked, deleted, moved, or a certificate whose validation timed out).
 * Pure.
 *
 * @see https://developers.cloudflare.com/cloudflare-for-platforms/cloudflare-for-saas/reference/status-codes/
 */
import type { HostnameStatus, HostnameVerification } from '../db/schema'
import type { CfCustomHostname } from '../upstream/cloudflare'

const FAILED_HOSTNAME = new Set([
  'blocked',
  'pending_blocked',
  'test_blocked',
  'test_failed',
  'deleted',
  'pending_deletion',
])
const FAILED_SSL = new Set([
  'validation_timed_out',
  'issuance_timed_out',
  'deployment_timed_out',
  'deletion_timed_out',
  'initializing_timed_out',
  'expired',
  'deleted',
  'inactive',
])

export function mapCloudflareStatus(h: CfCustomHostname): { status: HostnameStatus; detail: string | null } {
  const hostStatus = h.status ?? 'pending'
  const sslStatus = h.ssl?.status ?? 'initializing'
  if (hostStatus === 'moved')
    return { status: 'moved', detail: 'Cloudflare: the hostname no longer points to this zone (moved)' }
  if (FAILED_HOSTNAME.has(hostStatus))
    return { status: 'failed', detail: `Cloudflare: hostname ${hostStatus.replace(/_/g, ' ')}` }
  if (FAILED_SSL.has(sslStatus)) {
    return {
      status: 'failed',
      detail: `Cloudflare: certificate ${sslStatus.replace(/_/g, ' ')}; detach and attach the hostname again after fixing DNS`,
    }
  }
  if (hostStatus === 'active' && sslStatus === 'active') return { status: 'active', detail: null }
  const reason = h.verification_errors?.[0] ?? h.ssl?.validation_errors?.[0]?.message ?? null
  const waitingFor =
    hostStatus !== 'active' ? 'ownership verification' : `certificate (${sslStatus.replace(/_/g, ' ')})`
  return { status: 'pending', detail: reason ? `Waiting for ${waitingFor}: ${reason}` : `Waiting for ${waitingFor}` }
}

/** The DNS records the partner must publish, as Cloudflare lists them. */
export function verificationOf(h: CfCustomHostname): HostnameVerification {
  const ownership =
    h.ownership_verification?.name && h.ownership_verification.value
      ? { type: 'txt' as const, name: h.ownership_verification.name, value: h.ownership_verification.value }
      : null
  const certificate: HostnameVerification['certificate'] = []
  for (const record of h.ssl?.validation_records ?? []) {
    if (record.txt_name && record.txt_value)
      certificate.push({ type: 'txt', name: record.txt_name, value: record.txt_value })
    else if (record.http_url && record.http_body)
      certificate.push({ type: 'http', name: record.http_url, value: record.http_body })
  }
  return { ownership, certificate }
}

/** When to look again: a minute after attaching, doubling up to an hour; active hosts once a day (to notice moves). */
export function nextCheckDelayMs(status: HostnameStatus, checks: number): number | null {
  if (status === 'active') return 24 * 60 * 60 * 1000
  if (status !== 'pending') return null
  return Math.min(60_000 * 2 ** Math.min(checks, 10), 60 * 60 * 1000)
}
