/**
 * The gateway's secrets, by name: the one list. `src/env.ts` types them,
 * `npm run preflight` checks that each is set on the deployed Worker
 * (`wrangler secret list`), and every deploy environment of wrangler.toml
 * declares them in `[env.<name>.secrets] required`, so `wrangler deploy`
 * refuses to deploy without them (`npm run typecheck` proves the lists agree:
 * `src/env.check.ts`). Values come from `wrangler secret put NAME --env <env>`,
 * and locally from .dev.vars. No imports: Node scripts read this file as is.
 */
export const SECRET_NAMES = [
  /** The ops key of the admin API, at least 32 characters. */
  'ADMIN_API_KEY',
  /** The client secret of the provider's multi-tenant Entra app. */
  'ENTRA_CLIENT_SECRET',
  /** 32 random bytes, base64url: seals sign-in states, flow cookies, one-time codes, flow results. */
  'FLOW_KEY',
  /** 32 random bytes, base64url: encrypts stored credentials (portals' Entra client secrets). */
  'DATA_KEY',
  /** JSON array of private EC P-256 JWKs with `kid`, current first: signs handoff assertions. */
  'SIGNING_KEYS',
  /** Cloudflare API token with "SSL and Certificates: Edit" on the Cloudflare for SaaS zone. */
  'CLOUDFLARE_API_TOKEN',
] as const

export type SecretName = (typeof SECRET_NAMES)[number]

/**
 * The secrets the sign-in Worker uses (src/sign-in-worker.ts; config.ts scope
 * `sign-in`): not the ops key nor the Cloudflare API token, which only the
 * admin Worker needs. The admin Worker, and the combined local one, need all.
 */
export const SIGN_IN_SECRETS = [
  'ENTRA_CLIENT_SECRET',
  'FLOW_KEY',
  'DATA_KEY',
  'SIGNING_KEYS',
] as const satisfies readonly SecretName[]
