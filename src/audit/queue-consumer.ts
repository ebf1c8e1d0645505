/**
 * The sign-in audit queue's consumer (the admin Worker's `queue`; locally the
 * combined Worker's): each batch into D1 in one call, event ids stored once
 * (see `queue.ts`, the sending side, for delivery and message format).
 */
import * as z from 'zod/mini'
import type { Env } from '../env'
import { log } from '../log'
import { insertSignInAttempts, type SignInAttemptRow } from './sign-in-attempts'

const text = (max: number) => z.string().check(z.maxLength(max))
const nullableText = (max: number) => z.nullish(text(max))

/** What a message must hold to be written: the row `sendSignInAttempt` sends, bounded. */
const messageSchema = z.object({
  eventId: z.string().check(z.minLength(1), z.maxLength(64)),
  at: z.int(),
  result: z.enum(['success', 'failure', 'pending']),
  reason: text(64),
  step: z.enum(['callback', 'complete', 'choose']),
  hostname: nullableText(253),
  orgId: nullableText(64),
  phoneSystemId: nullableText(64),
  tid: nullableText(64),
  oid: nullableText(64),
  account: nullableText(320),
  detail: nullableText(200),
  correlationId: text(128),
})

/** Seconds before a refused batch is delivered again: 10, 20, 40, … up to 5 minutes (about half an hour in all). */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(300, 10 * 2 ** Math.max(0, attempts - 1))
}

/** The queue consumer: one D1 call for the batch's well-formed rows; each message acked or retried explicitly. */
export async function consumeSignInAudit(batch: MessageBatch<unknown>, env: Pick<Env, 'DB'>): Promise<void> {
  const rows: SignInAttemptRow[] = []
  const messages: Message<unknown>[] = []
  for (const message of batch.messages) {
    const parsed = messageSchema.safeParse(message.body)
    if (!parsed.success) {
      // A bug, not an outage: retrying would change nothing. The body stays out of the log (it may name a person).
      log('error', 'sign-in audit message malformed; dropped', {
        queue: batch.queue,
        messageId: message.id,
        problems: parsed.error.issues.map((issue) => issue.path.join('.') || '(body)'),
      })
      message.ack()
      continue
    }
    rows.push(parsed.data)
    messages.push(message)
  }
  if (messages.length === 0) return
  try {
    await insertSignInAttempts(env.DB, rows)
  } catch (error) {
    const attempts = Math.max(...messages.map((message) => message.attempts))
    const delaySeconds = retryDelaySeconds(attempts)
    log('error', 'sign-in audit batch not written; retrying', {
      queue: batch.queue,
      messages: messages.length,
      attempts,
      delaySeconds,
      error: String(error),
    })
    for (const message of messages) message.retry({ delaySeconds })
    return
  }
  for (const message of messages) message.ack()
}
