/**
 * One writer per Entra app (ARCHITECTURE §4, hole 4 of the tenant-proof review):
 * Graph only lets the gateway replace an app's whole redirect-URI list, so
 * two hosts registering at once on one app would each write back a list
 * without the other's URI. Every change to an app's list goes through this
 * Durable Object, one per app (named by its client id), which runs them one
 * after another and reads each write back.
 */
import { DurableObject } from 'cloudflare:workers'
import { getConfig } from '../config'
import type { Env } from '../env'
import { AppError, type ErrorCode } from '../errors'
import type { EntraClient } from '../oidc/clients'
import { isRedirectUriRegistered, registerRedirectUri, unregisterRedirectUri } from './app-redirect-uris'

/** What crosses the RPC boundary: errors as data, so their code and message survive. */
export type RegistrarResult<T = null> =
  | { ok: true; value: T }
  | { ok: false; code: ErrorCode; message: string; field?: string }

async function settle<T>(work: () => Promise<T>): Promise<RegistrarResult<T>> {
  try {
    return { ok: true, value: await work() }
  } catch (error) {
    if (error instanceof AppError) {
      return { ok: false, code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) }
    }
    return { ok: false, code: 'graph_unavailable', message: 'Changing the redirect URIs failed unexpectedly; retry' }
  }
}

export class EntraAppRegistrar extends DurableObject<Env> {
  private tail: Promise<unknown> = Promise.resolve()

  /** Runs `work` after every change queued before it, so no two Graph read-modify-writes overlap. */
  private serially<T>(work: () => Promise<T>): Promise<RegistrarResult<T>> {
    const run = this.tail.then(() => settle(work))
    this.tail = run
    return run
  }

  register(client: EntraClient, uri: string): Promise<RegistrarResult> {
    return this.serially(async () => {
      await registerRedirectUri(getConfig(this.env), client, uri)
      return null
    })
  }

  unregister(client: EntraClient, uri: string): Promise<RegistrarResult> {
    return this.serially(async () => {
      await unregisterRedirectUri(getConfig(this.env), client, uri)
      return null
    })
  }

  isRegistered(client: EntraClient, uri: string): Promise<RegistrarResult<boolean>> {
    return this.serially(() => isRedirectUriRegistered(getConfig(this.env), client, uri))
  }
}
