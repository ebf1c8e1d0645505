/**
 * The sign-in audit queue (src/audit/queue.ts, ARCHITECTURE §8): a step sends
 * its row after answering, never before; the consumer writes each batch once,
 * however often it is delivered; a batch D1 refuses is retried, never acked;
 * a malformed message is dropped without holding the others back; and when
 * the queue refuses a row, the row still lands, written directly.
 */
import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { sendSignInAttempt } from '../../src/audit/queue'
import { retryDelaySeconds } from '../../src/audit/queue-consumer'
import type { SignInAttemptRow } from '../../src/audit/sign-in-attempts'
import worker, { app } from '../../src/index'
import { failingD1 } from '../faults/helpers'
import {
  auditSettled,
  dbAll,
  PRIMARY,
  pickAccount,
  recordingD1,
  seedSignInTenant,
  startLogin,
  withCookie,
} from '../fixtures'

const QUEUE = 'sso-gateway-sign-in-audit'

/** A row as a step sends it, on a host of its own. */
function attemptRow(hostname: string, overrides: Partial<SignInAttemptRow> = {}): SignInAttemptRow {
  return {
    eventId: crypto.randomUUID(),
    at: Date.now(),
    result: 'failure',
    reason: 'not_listed',
    step: 'complete',
    hostname,
    orgId: null,
    phoneSystemId: null,
    tid: null,
    oid: null,
    account: 'ann@contoso.example',
    detail: null,
    correlationId: crypto.randomUUID(),
    ...overrides,
  }
}

const host = () => `audit-${crypto.randomUUID().slice(0, 8)}.localhost`

/** The batch delivered to the Worker's queue handler, as the queue would: what it acked and retried. */
async function deliver(bodies: unknown[], bindings: Cloudflare.Env = env, ids = bodies.map((_, i) => `m${i}`)) {
  const batch = createMessageBatch(
    QUEUE,
    bodies.map((body, i) => ({ id: ids[i]!, timestamp: new Date(), attempts: 1, body })),
  )
  const ctx = createExecutionContext()
  await worker.queue(batch, bindings as never)
  return getQueueResult(batch, ctx)
}

const rowsOn = (hostname: string) =>
  dbAll<any>('SELECT event_id, step, result, reason, account FROM sign_in_attempts WHERE hostname = ?', hostname)

afterEach(() => {
  vi.restoreAllMocks()
})

describe('the sign-in audit consumer', () => {
  it("writes a batch's rows in one D1 call and acks each message", async () => {
    const hostname = host()
    const rows = [attemptRow(hostname), attemptRow(hostname, { step: 'callback', result: 'pending' })]
    const d1 = failingD1(env.DB, { failAt: null })
    const result = await deliver(rows, { ...env, DB: d1.d1 })
    expect(result.explicitAcks.sort()).toEqual(['m0', 'm1'])
    expect(result.retryMessages).toEqual([])
    expect(result.retryBatch.retry).toBe(false)
    expect(d1.calls.map((call) => call.kind)).toEqual(['prepare', 'batch'])
    expect((await rowsOn(hostname)).map((row) => row.event_id).sort()).toEqual(rows.map((r) => r.eventId).sort())
  })

  it('a full batch (100 messages) fits D1: each INSERT binds at most 100 parameters, and all land in one call', async () => {
    const hostname = host()
    const rows = Array.from({ length: 100 }, () => attemptRow(hostname))
    const prepared: string[] = []
    const DB = recordingD1(prepared)
    const result = await deliver(rows, { ...env, DB })
    expect(result.explicitAcks).toHaveLength(100)
    for (const sql of prepared) expect(sql.split('?').length - 1).toBeLessThanOrEqual(100)
    expect(await rowsOn(hostname)).toHaveLength(100)
  })

  it('a batch delivered twice (or one row sent twice) leaves one row each', async () => {
    const hostname = host()
    const rows = [attemptRow(hostname), attemptRow(hostname)]
    await deliver(rows)
    const again = await deliver([...rows, rows[0]], env, ['r0', 'r1', 'r2'])
    expect(again.explicitAcks.sort()).toEqual(['r0', 'r1', 'r2'])
    expect(await rowsOn(hostname)).toHaveLength(2)
  })

  it('D1 refusing the batch: every message retried with a delay, none acked, nothing written', async () => {
    const hostname = host()
    const rows = [attemptRow(hostname), attemptRow(hostname)]
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const down = failingD1(env.DB, { failAt: 1, mode: 'outage', kinds: ['batch'] })
    const result = await deliver(rows, { ...env, DB: down.d1 })
    expect(down.fired()).toBe(true)
    expect(result.explicitAcks).toEqual([])
    expect(result.ackAll).toBe(false)
    // (The test harness keeps which messages were retried, not their delay: the log line says it.)
    expect(result.retryMessages).toEqual([{ msgId: 'm0' }, { msgId: 'm1' }])
    expect(await rowsOn(hostname)).toEqual([])
    const logged = errors.mock.calls.map(([line]) => JSON.parse(String(line)))
    expect(logged).toContainEqual(
      expect.objectContaining({
        message: 'sign-in audit batch not written; retrying',
        messages: 2,
        attempts: 1,
        delaySeconds: retryDelaySeconds(1),
      }),
    )
    // Delivered again once D1 answers: the rows land.
    expect((await deliver(rows)).explicitAcks).toHaveLength(2)
    expect(await rowsOn(hostname)).toHaveLength(2)
  })

  it('retries wait longer each time, at most 5 minutes', () => {
    expect([1, 2, 3, 4, 5, 6, 11].map(retryDelaySeconds)).toEqual([10, 20, 40, 80, 160, 300, 300])
  })

  it('a malformed message is acked and logged, and never holds back the rows beside it', async () => {
    const hostname = host()
    const good = [attemptRow(hostname), attemptRow(hostname)]
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const result = await deliver([
      good[0],
      'not a row',
      null,
      { ...attemptRow(hostname), at: 'yesterday' },
      { ...attemptRow(hostname), step: 'DROP TABLE' },
      { ...attemptRow(hostname), eventId: undefined },
      { ...attemptRow(hostname), hostname: 'x'.repeat(10_000) },
      good[1],
    ])
    expect(result.explicitAcks.sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'])
    expect(result.retryMessages).toEqual([])
    expect((await rowsOn(hostname)).map((row) => row.event_id).sort()).toEqual(good.map((r) => r.eventId).sort())
    const logged = errors.mock.calls.map(([line]) => JSON.parse(String(line)))
    expect(logged.filter((line) => line.message === 'sign-in audit message malformed; dropped')).toHaveLength(6)
    // The log names the message, never its content (it may name a person).
    expect(JSON.stringify(logged)).not.toContain('ann@contoso.example')
  })
})

describe('sending a row', () => {
  it('sends it to the queue as JSON, and the consumer writes it', async () => {
    const hostname = host()
    const row = attemptRow(hostname)
    await sendSignInAttempt(env, row)
    await auditSettled()
    expect(await rowsOn(hostname)).toEqual([
      { event_id: row.eventId, step: 'complete', result: 'failure', reason: 'not_listed', account: row.account },
    ])
  })

  it('the queue refusing it: the row is written to D1 directly', async () => {
    const hostname = host()
    const row = attemptRow(hostname)
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const refusing = {
      send: async () => {
        throw new Error('Queue send failed: queue unavailable')
      },
    } as unknown as Queue<SignInAttemptRow>
    await sendSignInAttempt({ DB: env.DB, SIGNIN_AUDIT: refusing }, row)
    expect((await rowsOn(hostname)).map((r) => r.event_id)).toEqual([row.eventId])
  })

  it('a send that reached the queue yet failed: written directly and delivered, the row is stored once', async () => {
    const hostname = host()
    const row = attemptRow(hostname)
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const reachedThenFailed = {
      send: async (body: SignInAttemptRow, options?: QueueSendOptions) => {
        await env.SIGNIN_AUDIT.send(body, options)
        throw new Error('Queue send failed: network connection lost')
      },
    } as unknown as Queue<SignInAttemptRow>
    await sendSignInAttempt({ DB: env.DB, SIGNIN_AUDIT: reachedThenFailed }, row)
    await auditSettled()
    expect(await rowsOn(hostname)).toHaveLength(1)
  })

  it('queue and D1 both down: the row is lost loudly (an error line), and nothing throws', async () => {
    const hostname = host()
    const row = attemptRow(hostname)
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const refusing = {
      send: async () => {
        throw new Error('Queue send failed')
      },
    } as unknown as Queue<SignInAttemptRow>
    const down = failingD1(env.DB, { failAt: 1, mode: 'outage' })
    await expect(sendSignInAttempt({ DB: down.d1, SIGNIN_AUDIT: refusing }, row)).resolves.toBeUndefined()
    const [line] = errors.mock.calls.map(([text]) => JSON.parse(String(text)))
    expect(line).toMatchObject({ message: 'sign-in audit write failed', eventId: row.eventId })
    expect(await rowsOn(hostname)).toEqual([])
  })
})

describe('a sign-in step', () => {
  it('answers without waiting for the send, and writes nothing to D1 itself', async () => {
    const tenant = await seedSignInTenant()
    const { authorizeUrl } = await startLogin(tenant.hostname)
    const callbackUrl = await pickAccount(authorizeUrl, tenant.user)
    expect(callbackUrl.hostname).toBe(PRIMARY)
    // A queue whose send does not finish until the test says so, and a D1 that records every statement.
    const sent: unknown[] = []
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const SIGNIN_AUDIT = {
      send: async (body: unknown) => {
        sent.push(body)
        await held
      },
    } as unknown as Queue<SignInAttemptRow>
    const statements: string[] = []
    const DB = recordingD1(statements)
    const ctx = createExecutionContext()
    // The answer arrives while the send is still held: had the step awaited it, this would never resolve.
    const res = await app.request(callbackUrl.href, withCookie(null), { ...env, DB, SIGNIN_AUDIT }, ctx)
    expect(res.status).toBe(303)
    expect(sent).toEqual([
      expect.objectContaining({
        step: 'callback',
        result: 'pending',
        reason: 'central_callback',
        hostname: tenant.hostname,
        orgId: tenant.orgId,
        eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      }),
    ])
    expect(statements.filter((sql) => /sign_in_attempts/.test(sql))).toEqual([])
    release()
    await waitOnExecutionContext(ctx)
    // Only the queue was to write it: D1 holds nothing until the consumer has the message.
    expect(await rowsOn(tenant.hostname)).toEqual([])
    expect(statements.filter((sql) => /sign_in_attempts/.test(sql))).toEqual([])
  })
})
