/**
 * The provider app's client secret expiry (ARCHITECTURE §11): an expired
 * Entra client secret stops every sign-in at once (AADSTS7000222), and Entra
 * caps a secret's life at two years, so the gateway reads the app's
 * `passwordCredentials` from Microsoft Graph and warns 30 days ahead. Graph
 * never returns a secret's value, only its first three characters (`hint`):
 * the credential in use is the one whose hint matches the configured secret.
 *
 * @see https://learn.microsoft.com/graph/api/resources/passwordcredential
 */
import type { Config } from '../config'
import { errorCodeOf } from '../errors'
import { DAY_MS } from '../lib/time'
import { providerClient } from '../oidc/clients'
import { appOnlyToken, type GraphCall, graphRequest } from '../upstream/graph'

export const SECRET_WARNING_DAYS = 30
// The app may read itself as its own owner (the same permission the redirect URIs need).
const CALL: GraphCall = { permission: 'Application.ReadWrite.OwnedBy', retries: 1, maxRetryAfterMs: 2_000 }

export interface PasswordCredential {
  displayName?: string | null
  endDateTime?: string | null
  hint?: string | null
  keyId?: string | null
}

export interface ClientSecretHealth {
  status: 'ok' | 'expiring' | 'expired' | 'not_listed' | 'unknown'
  /** When the secret in use expires (ISO), when known. */
  expiresAt: string | null
  daysLeft: number | null
  /** Every secret the app has, the one in use marked: ops see which replacement is already in place. */
  credentials: Array<{ displayName: string | null; hint: string | null; expiresAt: string | null; inUse: boolean }>
  /** What to do, when anything is to be done. */
  message: string | null
}

/** Pure: the secret in use among the app's credentials, and what that means for ops. */
export function assessClientSecret(credentials: PasswordCredential[], secret: string, now: number): ClientSecretHealth {
  const hint = secret.slice(0, 3)
  const listed = credentials.map((credential) => ({
    displayName: credential.displayName ?? null,
    hint: credential.hint ?? null,
    expiresAt: credential.endDateTime ?? null,
    inUse: credential.hint === hint,
  }))
  // Two secrets may share a hint: the one expiring first is the one to worry about.
  const inUse = listed
    .filter((credential) => credential.inUse && credential.expiresAt !== null)
    .sort((a, b) => Date.parse(a.expiresAt!) - Date.parse(b.expiresAt!))[0]
  if (!inUse) {
    return {
      status: 'not_listed',
      expiresAt: null,
      daysLeft: null,
      credentials: listed,
      message:
        'The configured ENTRA_CLIENT_SECRET is not among the app registration\'s client secrets (no hint matches): it was deleted or belongs to another app. Create a new secret under Certificates & secrets and set it with "wrangler secret put ENTRA_CLIENT_SECRET".',
    }
  }
  const daysLeft = Math.floor((Date.parse(inUse.expiresAt!) - now) / DAY_MS)
  const status = daysLeft < 0 ? 'expired' : daysLeft < SECRET_WARNING_DAYS ? 'expiring' : 'ok'
  const rotate =
    'create a new client secret under the app registration\'s Certificates & secrets, set it with "wrangler secret put ENTRA_CLIENT_SECRET --env production", then delete the old one (docs/OPERATIONS.md, "Rotating the Entra client secret")'
  return {
    status,
    expiresAt: inUse.expiresAt,
    daysLeft,
    credentials: listed,
    message:
      status === 'ok'
        ? null
        : status === 'expired'
          ? `The Entra client secret expired on ${inUse.expiresAt}: sign-ins fail with AADSTS7000222. Now: ${rotate}.`
          : `The Entra client secret expires in ${daysLeft} day(s), on ${inUse.expiresAt}: ${rotate}.`,
  }
}

/** Reads the provider app's secrets from Graph; a Graph failure is reported, never thrown. */
export async function clientSecretHealth(config: Config, now: number): Promise<ClientSecretHealth> {
  const unknown = (message: string): ClientSecretHealth => ({
    status: 'unknown',
    expiresAt: null,
    daysLeft: null,
    credentials: [],
    message,
  })
  const client = providerClient(config)
  if (!client.homeTenantId) {
    return unknown(
      'ENTRA_HOME_TENANT_ID is not set, so the gateway cannot read its app registration from Microsoft Graph; check the secret expiry in the Entra admin center.',
    )
  }
  try {
    const token = await appOnlyToken(config, client, client.homeTenantId, CALL)
    const app = await graphRequest<{ passwordCredentials?: PasswordCredential[] }>(
      config,
      token,
      'GET',
      `/v1.0/applications(appId='${client.clientId}')?$select=passwordCredentials`,
      CALL,
    )
    return assessClientSecret(app?.passwordCredentials ?? [], client.clientSecret, now)
  } catch (error) {
    return unknown(
      `Microsoft Graph could not be asked (${errorCodeOf(error)}): ${error instanceof Error ? error.message : String(error)}`,
    )
  }
}
