/**
 * Sign-in flows in D1 (`sso_flows`). Every transition is one conditional
 * UPDATE … RETURNING, so a state, a callback or a completion code can be used
 * once, even by two requests racing each other.
 */
import { and, eq, gt, isNull, lt } from 'drizzle-orm'
import { getDb } from '../db/client'
import { ssoFlows } from '../db/schema'

export type FlowRow = typeof ssoFlows.$inferSelect

/** How long a started sign-in may take, end to end (DESIGN 3.3: at most 10 minutes). */
export const FLOW_TTL_SECONDS = 600
/** How long the one-time code of the central callback lives (DESIGN 4: at most 60 s). */
export const COMPLETION_TTL_SECONDS = 60

export async function createFlow(d1: D1Database, row: typeof ssoFlows.$inferInsert): Promise<void> {
  await getDb(d1).insert(ssoFlows).values(row)
}

/** Marks the flow with this state as called back; null if unknown, expired or already used. */
export async function consumeFlowByState(d1: D1Database, stateHash: string, now: number): Promise<FlowRow | null> {
  const row = await getDb(d1)
    .update(ssoFlows)
    .set({ consumedAt: now })
    .where(and(eq(ssoFlows.stateHash, stateHash), isNull(ssoFlows.consumedAt), gt(ssoFlows.expiresAt, now)))
    .returning()
    .get()
  return row ?? null
}

/** Records the validated result and the hash of the one-time code that will finish the flow on its own host. */
export async function storeCompletion(
  d1: D1Database,
  flowId: string,
  result: string,
  completionCodeHash: string,
  completionExpiresAt: number,
): Promise<void> {
  await getDb(d1)
    .update(ssoFlows)
    .set({ result, completionCodeHash, completionExpiresAt })
    .where(eq(ssoFlows.id, flowId))
}

/** Uses the one-time code: the flow must be this browser's, on this host, unexpired and not completed yet. */
export async function completeFlow(
  d1: D1Database,
  flowId: string,
  hostname: string,
  completionCodeHash: string,
  now: number,
): Promise<FlowRow | null> {
  const row = await getDb(d1)
    .update(ssoFlows)
    .set({ completedAt: now })
    .where(
      and(
        eq(ssoFlows.id, flowId),
        eq(ssoFlows.hostname, hostname),
        eq(ssoFlows.completionCodeHash, completionCodeHash),
        gt(ssoFlows.completionExpiresAt, now),
        isNull(ssoFlows.completedAt),
      ),
    )
    .returning()
    .get()
  return row ?? null
}

/** Marks a flow finished on the callback itself (direct mode, primary host). */
export async function markCompleted(d1: D1Database, flowId: string, now: number): Promise<void> {
  await getDb(d1).update(ssoFlows).set({ completedAt: now }).where(eq(ssoFlows.id, flowId))
}

/** Offers a choice of phone systems: the sealed options and the hash of the token the chooser form carries. */
export async function storeChoices(
  d1: D1Database,
  flowId: string,
  choices: string,
  choiceTokenHash: string,
): Promise<void> {
  await getDb(d1).update(ssoFlows).set({ choices, choiceTokenHash }).where(eq(ssoFlows.id, flowId))
}

/** Uses the chooser's token once: this browser's flow, this host, not chosen yet, not expired. */
export async function takeChoice(
  d1: D1Database,
  flowId: string,
  hostname: string,
  choiceTokenHash: string,
  now: number,
): Promise<FlowRow | null> {
  const row = await getDb(d1)
    .update(ssoFlows)
    .set({ chosenAt: now })
    .where(
      and(
        eq(ssoFlows.id, flowId),
        eq(ssoFlows.hostname, hostname),
        eq(ssoFlows.choiceTokenHash, choiceTokenHash),
        isNull(ssoFlows.chosenAt),
        gt(ssoFlows.expiresAt, now),
      ),
    )
    .returning()
    .get()
  return row ?? null
}

/** Deletes flows that expired more than an hour ago (kept that long for support questions). */
export async function deleteExpiredFlows(d1: D1Database, now: number): Promise<number> {
  const result = await getDb(d1)
    .delete(ssoFlows)
    .where(lt(ssoFlows.expiresAt, now - 3600_000))
    .run()
  return result.meta.changes ?? 0
}
