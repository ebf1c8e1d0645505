/**
 * Review 5: the Entra client secret expiry job asks Graph only in the first
 * five minutes of every sixth hour; every other cron run (every 5 minutes)
 * did nothing and was recorded in job_runs as a success. job_runs keeps one
 * row per job, so a check that failed at 06:00 (Graph refusing the app, the
 * permission withdrawn) was overwritten at 06:05 by a run that checked
 * nothing: the health view showed the job ok, with a "last success" that
 * never read the expiry, and the failure was visible for five minutes of
 * every six hours. This proves a run with nothing due leaves the job's last
 * real run (its failure, its last success) as it was.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { runScheduledJobs } from '../../src/jobs/scheduled'
import { expectJson } from '../fixtures'

const JOB = 'Entra client secret expiry checked'

async function cronAt(now: number, bindings: Cloudflare.Env) {
  const ctx = createExecutionContext()
  runScheduledJobs(bindings, ctx, now)
  await waitOnExecutionContext(ctx)
}

async function health() {
  const { app } = await import('../../src/index')
  const res = await app.request(
    'https://login.localhost/api/v1/health',
    { headers: { authorization: `Bearer ${env.ADMIN_API_KEY}` } },
    env,
  )
  return expectJson(res)
}

describe('the secret expiry check', () => {
  it('a failed check stays failed until the next check, not until the next cron run', async () => {
    const day = new Date().toISOString().slice(0, 10)
    const at = (time: string) => Date.parse(`${day}T${time}Z`)
    // Graph cannot be asked at 06:01: the check fails.
    await cronAt(at('06:01:00'), { ...env, GRAPH_BASE: 'http://127.0.0.1:9' })
    const failed = (await health()).scheduled.jobs.find((j: any) => j.job === JOB)
    expect(failed).toMatchObject({ ok: false, lastOkAt: null })

    // 06:06: nothing is due; the failure must still show.
    await cronAt(at('06:06:00'), env)
    const after = await health()
    expect(after.scheduled.jobs.find((j: any) => j.job === JOB)).toMatchObject({ ok: false, lastOkAt: null })
    expect(after.warnings).toContainEqual(expect.stringContaining(`"${JOB}" failed`))

    // 12:01: the next real check succeeds and says so.
    await cronAt(at('12:01:00'), env)
    expect((await health()).scheduled.jobs.find((j: any) => j.job === JOB)).toMatchObject({
      ok: true,
      result: expect.objectContaining({ checked: 1 }),
    })
  })
})
