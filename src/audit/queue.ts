/**
 * The sign-in audit's way to D1, off the request path (ARCHITECTURE §8): a
 * step sends its row to the SIGNIN_AUDIT queue in the background, and this
 * Worker's queue consumer (`queue-consumer.ts`, the admin Worker's) writes
 * each batch in one D1 call. Apart, so that the sign-in Worker, which only
 * sends, bundles none of the consumer's message schema.
 *
 * Delivery is at least once, so every row carries an event id chosen by the
 * step; the insert skips an id already stored: a redelivered batch, or a row
 * both queued and written directly, is stored once. A batch D1 refuses is
 * retried with a growing delay, then lands in the dead letter queue
 * (wrangler.toml, docs/OPERATIONS.md); a malformed message is dropped with an
 * error in the log, never retried, so it cannot hold the others back.
 *
 * Messages are JSON (`contentType: 'json'`): the row is plain data, and a
 * message ops look at in the dashboard's dead letter queue reads as text,
 * where a V8-serialized one would be bytes.
 */
import type { Env } from '../env'
import { log } from '../log'
import { insertSignInAttempts, type SignInAttemptRow } from './sign-in-attempts'

type AuditBindings = Pick<Env, 'DB' | 'SIGNIN_AUDIT'>

/**
 * Sends the row to the queue; if the queue refuses it, writes it to D1
 * directly; if that fails too, the row is lost, loudly. Never throws: callers
 * hand it to `waitUntil` and answer without it.
 */
export async function sendSignInAttempt(env: AuditBindings, row: SignInAttemptRow): Promise<void> {
  try {
    await env.SIGNIN_AUDIT.send(row, { contentType: 'json' })
    return
  } catch (error) {
    log('warn', 'sign-in audit queue send failed; writing to D1 directly', {
      correlationId: row.correlationId,
      eventId: row.eventId,
      error: String(error),
    })
  }
  try {
    // The send may have reached the queue before it failed: the event id keeps the row single.
    await insertSignInAttempts(env.DB, [row])
  } catch (error) {
    log('error', 'sign-in audit write failed', {
      correlationId: row.correlationId,
      eventId: row.eventId,
      error: String(error),
    })
  }
}
