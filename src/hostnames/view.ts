import * as z from 'zod/mini'
import { CALLBACK_MODES, HOSTNAME_KINDS, HOSTNAME_STATUSES, type HostnameRow } from '../db/schema'
import { iso, isoOrNull } from '../lib/time'

const dnsRecord = z.object({ type: z.enum(['txt', 'http']), name: z.string(), value: z.string() })

/** A hostname as the API answers it and the audit log records it. */
export const hostnameSchema = z.object({
  hostname: z.string(),
  organizationId: z.string(),
  kind: z.enum(HOSTNAME_KINDS),
  status: z.enum(HOSTNAME_STATUSES),
  statusDetail: z.nullable(z.string()),
  callbackMode: z.enum(CALLBACK_MODES),
  redirectUriRegistered: z.boolean(),
  redirectUriDetail: z.nullable(z.string()),
  verification: z.nullable(z.object({ ownership: z.nullable(dnsRecord), certificate: z.array(dnsRecord) })),
  createdAt: z.string(),
  updatedAt: z.string(),
  checkedAt: z.nullable(z.string()),
  nextCheckAt: z.nullable(z.string()),
})

export function hostnameView(row: HostnameRow): z.output<typeof hostnameSchema> {
  return {
    hostname: row.hostname,
    organizationId: row.orgId,
    kind: row.kind,
    status: row.status,
    statusDetail: row.statusDetail,
    callbackMode: row.callbackMode,
    redirectUriRegistered: row.redirectUriRegistered,
    redirectUriDetail: row.redirectUriDetail,
    verification: row.verification ?? null,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    checkedAt: isoOrNull(row.checkedAt),
    nextCheckAt: isoOrNull(row.nextCheckAt),
  }
}
