/**
 * The Cloudflare for SaaS custom hostnames API (`/zones/{zone_id}/custom_hostnames`),
 * with the v4 envelope `{success, errors, messages, result}` unwrapped and
 * every failure turned into an `AppError` a partner can act on.
 *
 * @see https://developers.cloudflare.com/api/resources/custom_hostnames/
 */
import type { CloudflareConfig } from '../config'
import { AppError } from '../errors'

/** A custom hostname as the API returns it (the fields the gateway reads). */
export interface CfCustomHostname {
  id: string
  hostname: string
  status?: string
  ssl?: {
    status?: string
    method?: string
    type?: string
    validation_records?: Array<{ txt_name?: string; txt_value?: string; http_url?: string; http_body?: string }>
    validation_errors?: Array<{ message?: string }>
  }
  ownership_verification?: { type?: string; name?: string; value?: string }
  verification_errors?: string[]
  created_at?: string
}

interface Envelope<T> {
  success: boolean
  errors?: Array<{ code?: number; message?: string }>
  messages?: unknown[]
  result?: T
}

/** Cloudflare's codes for a hostname that already exists in a zone (this one or someone else's). */
const DUPLICATE_CODES = new Set([1406, 1407, 1409, 1414])
const AUTH_CODES = new Set([9106, 9109, 10000, 10001])

async function call<T>(
  config: CloudflareConfig,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; result: T | undefined }> {
  let response: Response
  try {
    response = await fetch(`${config.apiBase}/zones/${encodeURIComponent(config.zoneId)}${path}`, {
      method,
      headers: { authorization: `Bearer ${config.apiToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(config.timeoutMs),
    })
  } catch (error) {
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      throw new AppError('cloudflare_timeout', 'Cloudflare did not answer in time; nothing was changed. Retry.', {
        cause: error,
      })
    }
    throw new AppError('cloudflare_unavailable', 'Cloudflare could not be reached; nothing was changed. Retry.', {
      cause: error,
    })
  }
  let envelope: Envelope<T> | undefined
  try {
    envelope = (await response.json()) as Envelope<T>
  } catch {
    envelope = undefined
  }
  if (response.ok && envelope?.success) return { status: response.status, result: envelope.result }
  if (response.status === 404 && method !== 'POST') return { status: 404, result: undefined }
  throw cloudflareError(response, envelope)
}

function cloudflareError(response: Response, envelope: Envelope<unknown> | undefined): AppError {
  const first = envelope?.errors?.[0]
  const code = first?.code
  const said = first?.message ? ` Cloudflare said: "${first.message.slice(0, 200)}" (code ${code ?? 'none'}).` : ''
  if (response.status === 429) {
    const retryAfter = response.headers.get('retry-after') ?? '60'
    return new AppError(
      'cloudflare_rate_limited',
      `Cloudflare is rate limiting the gateway; nothing was changed. Retry after ${retryAfter} s.`,
      {
        headers: { 'Retry-After': /^\d{1,5}$/.test(retryAfter) ? retryAfter : '60' },
      },
    )
  }
  if (response.status === 401 || response.status === 403 || (code !== undefined && AUTH_CODES.has(code))) {
    return new AppError(
      'cloudflare_auth',
      `Cloudflare refused the gateway's API token; nothing was changed. The provider must check CLOUDFLARE_API_TOKEN (it needs "SSL and Certificates: Edit" on the zone).${said}`,
    )
  }
  if (code !== undefined && DUPLICATE_CODES.has(code)) {
    return new AppError(
      'hostname_taken_elsewhere',
      `This hostname already exists at Cloudflare (in this zone or another account's); nothing was changed.${said}`,
      { field: 'hostname' },
    )
  }
  if (response.status >= 500 || !envelope) {
    return new AppError('cloudflare_unavailable', `Cloudflare answered ${response.status}; nothing was changed. Retry.`)
  }
  return new AppError('cloudflare_refused', `Cloudflare refused the request; nothing was changed.${said}`)
}

/**
 * Creates the custom hostname. When Cloudflare says it exists and it is in
 * this zone, it is the one an earlier attempt created whose answer was lost
 * (the caller has checked D1 holds no such hostname): that one is returned,
 * so the partner's retry works instead of being refused for good.
 */
export async function createCustomHostname(config: CloudflareConfig, hostname: string): Promise<CfCustomHostname> {
  let result: CfCustomHostname | undefined
  try {
    ;({ result } = await call<CfCustomHostname>(config, 'POST', '/custom_hostnames', {
      hostname,
      ssl: { method: 'txt', type: 'dv', settings: { min_tls_version: '1.2' } },
    }))
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'hostname_taken_elsewhere')) throw error
    const { result: found } = await call<CfCustomHostname[]>(
      config,
      'GET',
      `/custom_hostnames?hostname=${encodeURIComponent(hostname)}`,
    )
    const ours = found?.find((h) => h.hostname === hostname)
    if (!ours) throw error
    result = ours
  }
  if (!result?.id) throw new AppError('cloudflare_unavailable', 'Cloudflare answered without a custom hostname')
  return result
}

/** The custom hostname, or null when Cloudflare no longer has it. */
export async function getCustomHostname(config: CloudflareConfig, id: string): Promise<CfCustomHostname | null> {
  return (await call<CfCustomHostname>(config, 'GET', `/custom_hostnames/${encodeURIComponent(id)}`)).result ?? null
}

/** PATCH with the same SSL settings: asks Cloudflare to validate again now. Null when it no longer has it. */
export async function refreshCustomHostname(config: CloudflareConfig, id: string): Promise<CfCustomHostname | null> {
  return (
    (
      await call<CfCustomHostname>(config, 'PATCH', `/custom_hostnames/${encodeURIComponent(id)}`, {
        ssl: { method: 'txt', type: 'dv' },
      })
    ).result ?? null
  )
}

/** Deletes at Cloudflare; a hostname Cloudflare no longer has counts as deleted. */
export async function deleteCustomHostname(config: CloudflareConfig, id: string): Promise<void> {
  await call(config, 'DELETE', `/custom_hostnames/${encodeURIComponent(id)}`)
}
