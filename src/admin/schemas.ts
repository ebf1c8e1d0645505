/**
 * Request bodies of the admin API. Strict objects: an unknown (often
 * misspelled) field is an error that names it, not something silently dropped.
 */
import { z } from 'zod'
import { CALLBACK_MODES, ORG_KINDS, ORG_STRUCTURES } from '../db/schema'
import { isSafeLogoUrl } from '../hosts/resolve'

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const EMAIL_LIKE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const EXTENSION = /^[0-9A-Za-z*#+.-]{1,32}$/

export const MAX_SSO_USERS = 50_000

const guid = z
  .string()
  .regex(GUID, 'must be a GUID such as 00000000-0000-0000-0000-000000000000')
  .transform((s) => s.toLowerCase())

const emailLike = (what: string) =>
  z
    .string()
    .trim()
    .max(256, 'must be at most 256 characters')
    .regex(EMAIL_LIKE, `must be ${what} such as user@contoso.com`)
    .transform((s) => s.toLowerCase())

const orgName = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters')

export const brandingSchema = z.strictObject({
  displayName: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters').optional(),
  logoUrl: z
    .string()
    .refine(isSafeLogoUrl, 'must be an absolute https:// URL without credentials')
    .nullable()
    .optional(),
  accentColor: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour written #rrggbb, such as #0f6cbd')
    .transform((s) => s.toLowerCase())
    .optional(),
})

export const createOrgSchema = z
  .strictObject({
    name: orgName,
    kind: z.enum(ORG_KINDS, 'must be "partner" or "customer"'),
    parentId: z.string().min(1).max(64).optional(),
    structure: z.enum(ORG_STRUCTURES, 'must be "nested" or "flat"').optional(),
    branding: brandingSchema.optional(),
  })
  .superRefine((org, ctx) => {
    if (org.kind === 'partner' && org.parentId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['parentId'], message: 'must be absent for a partner (partners sit directly under the provider)' })
    }
    if (org.kind === 'partner' && org.structure !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['structure'], message: 'applies to customers only' })
    }
    if (org.kind === 'customer' && org.parentId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['parentId'], message: 'is required for a customer: the id of its partner' })
    }
  })

export const updateOrgSchema = z.strictObject({
  name: orgName.optional(),
  branding: brandingSchema.optional(),
})

export const attachHostnameSchema = z.strictObject({
  hostname: z.string().max(1024, 'must be at most 1024 characters'),
  callbackMode: z.enum(CALLBACK_MODES, 'must be "central" or "direct"').optional(),
})

/** https, or http to a loopback host (the local demo web client). */
function isAllowedClientUrl(value: string): boolean {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  if (url.username || url.password || url.hash) return false
  if (url.protocol === 'https:') return true
  const host = url.hostname
  return (
    url.protocol === 'http:' &&
    (host === 'localhost' || host.endsWith('.localhost') || host === '127.0.0.1' || host === '[::1]')
  )
}

const clientUrl = z
  .string()
  .max(2048, 'must be at most 2048 characters')
  .refine(isAllowedClientUrl, 'must be an absolute https:// URL without credentials or fragment')

export const createPhoneSystemSchema = z.strictObject({
  name: orgName,
  webClientUrl: clientUrl,
  handoffUrl: clientUrl,
  entraTenantId: guid,
})

export const ssoUserSchema = z
  .strictObject({
    oid: guid.optional(),
    upn: emailLike('a user principal name').optional(),
    email: emailLike('an email address').optional(),
    displayName: z.string().trim().max(256, 'must be at most 256 characters').optional(),
    extension: z.string().regex(EXTENSION, 'must be 1 to 32 letters, digits or * # + . -').optional(),
  })
  .refine((u) => u.oid !== undefined || u.upn !== undefined || u.email !== undefined, {
    message: 'needs at least one of "oid", "upn" or "email"',
  })

export const replaceSsoUsersSchema = z.strictObject({
  users: z.array(ssoUserSchema).max(MAX_SSO_USERS, `must hold at most ${MAX_SSO_USERS} users`),
})

export type CreateOrgInput = z.output<typeof createOrgSchema>
export type UpdateOrgInput = z.output<typeof updateOrgSchema>
export type CreatePhoneSystemInput = z.output<typeof createPhoneSystemSchema>
export type SsoUserInput = z.output<typeof ssoUserSchema>
