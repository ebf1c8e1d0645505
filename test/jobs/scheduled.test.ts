/**
 * The scheduled handler's jobs are independent: one that fails, whether it
 * throws at once or rejects later, never stops the others, and says so in
 * the log under its own name.
 */
import { env } from 'cloudflare:test'
import { describe, expect, it, vi } from 'vitest'
import { JOBS } from '../../src/jobs/scheduled'
import {
  consent,
  createCustomer,
  createPartner,
  createPhoneSystem,
  dbAll,
  directory,
  dirUser,
  newTenantId,
  runCron,
} from '../fixtures'

describe('the scheduled handler', () => {
  it('a job that throws at once or rejects never stops the others: they still run, and each failure is logged with its job', async () => {
    const tid = newTenantId()
    await consent(tid)
    const ann = dirUser(1)
    await directory(tid, { direct: [ann] })
    const customer = await createCustomer((await createPartner()).id)
    const ps = await createPhoneSystem(customer.id, tid)
    await env.DB.prepare('UPDATE phone_systems SET next_sync_at = ? WHERE id = ?')
      .bind(Date.now() - 1, ps.id)
      .run()

    const logged: unknown[] = []
    const errors = vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
      logged.push(JSON.parse(String(line)))
    })
    const jobs = [...JOBS]
    // First in line, so a failure that escaped would stop every job after it.
    JOBS.unshift(
      {
        name: 'a job that throws at once',
        run: () => {
          throw new Error('thrown at once')
        },
      },
      { name: 'a job that rejects', run: async () => Promise.reject(new Error('rejected later')) },
    )
    try {
      await runCron()
    } finally {
      JOBS.splice(0, JOBS.length, ...jobs)
      errors.mockRestore()
    }

    // The sync job, after both, did its work.
    expect(await dbAll('SELECT oid FROM sso_users WHERE phone_system_id = ?', ps.id)).toEqual([{ oid: ann.id }])
    expect(await dbAll('SELECT last_sync_status FROM phone_systems WHERE id = ?', ps.id)).toEqual([
      { last_sync_status: 'success' },
    ])
    expect(logged).toEqual(
      expect.arrayContaining([
        {
          level: 'error',
          message: 'job failed: a job that throws at once',
          error: expect.stringContaining('thrown at once'),
        },
        { level: 'error', message: 'job failed: a job that rejects', error: expect.stringContaining('rejected later') },
      ]),
    )
  })
})
