/**
 * Request bodies of the admin API, in zod's tree-shakable "mini" API (the
 * classic API would add ~90 KB gzip to every cold start). Strict objects: an
 * unknown (often misspelled) field is an error that names it, not something
 * silently dropped. Every message completes a sentence that starts with the
 * field's name (see `http/validate.ts`).
 */
import * as z from 'zod/mini'
import { CALLBACK_MODES, ORG_KINDS, ORG_STRUCTURES } from '../db/schema'
import { isSafeLogoUrl } from '../hosts/resolve'

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const EMAIL_LIKE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const EXTENSION = /^[0-9A-Za-z*#+.-]{1,32}$/

export const MAX_SSO_USERS = 50_000

const guid = z
  .string()
  .check(z.regex(GUID, 'must be a GUID such as 00000000-0000-0000-0000-000000000000'), z.toLowerCase())

const emailLike = (what: string) =>
  z
    .string()
    .check(
      z.trim(),
      z.maxLength(256, 'must be at most 256 characters'),
      z.regex(EMAIL_LIKE, `must be ${what} such as user@contoso.com`),
      z.toLowerCase(),
    )

const boundedText = (max: number) =>
  z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(max, `must be at most ${max} characters`))

const orgName = boundedText(200)

export const brandingSchema = z.strictObject({
  displayName: z.optional(boundedText(100)),
  logoUrl: z.optional(
    z.nullable(z.string().check(z.refine(isSafeLogoUrl, 'must be an absolute https:// URL without credentials'))),
  ),
  accentColor: z.optional(
    z
      .string()
      .check(z.regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour written #rrggbb, such as #0f6cbd'), z.toLowerCase()),
  ),
})

export const createOrgSchema = z
  .strictObject({
    name: orgName,
    kind: z.enum(ORG_KINDS, 'must be "partner" or "customer"'),
    parentId: z.optional(
      z.string().check(z.minLength(1, 'must not be empty'), z.maxLength(64, 'must be at most 64 characters')),
    ),
    structure: z.optional(z.enum(ORG_STRUCTURES, 'must be "nested" or "flat"')),
    branding: z.optional(brandingSchema),
  })
  .check(
    z.superRefine((org, ctx) => {
      if (org.kind === 'partner' && org.parentId !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['parentId'],
          message: 'must be absent for a partner (partners sit directly under the provider)',
        })
      }
      if (org.kind === 'partner' && org.structure !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['structure'], message: 'applies to customers only' })
      }
    }),
  )

export const updateOrgSchema = z.strictObject({
  name: z.optional(orgName),
  branding: z.optional(brandingSchema),
})

export const attachHostnameSchema = z.strictObject({
  hostname: z.string().check(z.maxLength(1024, 'must be at most 1024 characters')),
  callbackMode: z.optional(z.enum(CALLBACK_MODES, 'must be "central" or "direct"')),
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
  .check(
    z.maxLength(2048, 'must be at most 2048 characters'),
    z.refine(isAllowedClientUrl, 'must be an absolute https:// URL without credentials or fragment'),
  )

export const createPhoneSystemSchema = z.strictObject({
  name: orgName,
  webClientUrl: clientUrl,
  handoffUrl: clientUrl,
  entraTenantId: guid,
})

export const ssoUserSchema = z
  .strictObject({
    oid: z.optional(guid),
    upn: z.optional(emailLike('a user principal name')),
    email: z.optional(emailLike('an email address')),
    displayName: z.optional(z.string().check(z.trim(), z.maxLength(256, 'must be at most 256 characters'))),
    extension: z.optional(z.string().check(z.regex(EXTENSION, 'must be 1 to 32 letters, digits or * # + . -'))),
  })
  .check(
    z.refine(
      (u) => u.oid !== undefined || u.upn !== undefined || u.email !== undefined,
      'needs at least one of "oid", "upn" or "email"',
    ),
  )

export const replaceSsoUsersSchema = z.strictObject({
  users: z.array(ssoUserSchema).check(z.maxLength(MAX_SSO_USERS, `must hold at most ${MAX_SSO_USERS} users`)),
})

export type CreateOrgInput = z.output<typeof createOrgSchema>
export type UpdateOrgInput = z.output<typeof updateOrgSchema>
export type CreatePhoneSystemInput = z.output<typeof createPhoneSystemSchema>
export type SsoUserInput = z.output<typeof ssoUserSchema>

export const createApiKeySchema = z.strictObject({
  label: z.optional(boundedText(100)),
})

export const putIntegrationSchema = z.strictObject({
  clientId: guid,
  clientSecret: z.optional(
    z.string().check(z.minLength(1, 'must not be empty'), z.maxLength(1024, 'must be at most 1024 characters')),
  ),
  homeTenantId: guid,
  allowedTenantIds: z.optional(z.array(guid).check(z.maxLength(100, 'must hold at most 100 tenant ids'))),
})

export type PutIntegrationInput = z.output<typeof putIntegrationSchema>

export const updatePhoneSystemSchema = z.strictObject({
  name: z.optional(orgName),
  webClientUrl: z.optional(clientUrl),
  handoffUrl: z.optional(clientUrl),
  syncSource: z.optional(z.enum(['app_assignments', 'group'], 'must be "app_assignments" or "group"')),
  syncGroupId: z.optional(z.nullable(guid)),
})

export type UpdatePhoneSystemInput = z.output<typeof updatePhoneSystemSchema>

export const updateHostnameSchema = z.strictObject({
  callbackMode: z.enum(CALLBACK_MODES, 'must be "central" or "direct"'),
})
