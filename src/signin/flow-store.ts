/**
 * Where sign-in flows live between requests (ARCHITECTURE §3, 4, 8). A flow is not
 * stored when it starts: `/sso/login` seals it into the `state` it sends to
 * Entra (see `flow.ts`), so an anonymous request writes nothing. Its first
 * row is written by the callback that brings that state back, and every
 * transition is one conditional INSERT or UPDATE … RETURNING, so a state, a
 * completion code or a chooser token can be used once, even by two requests
 * racing each other. What is secret (the verified identity, the offered
 * choices) is sealed under FLOW_KEY and bound to its flow, so D1 never holds
 * it readable and a value copied to another flow does not open.
 */
import { and, eq, gt, inArray, isNull, lt } from 'drizzle-orm'
import type { JWTPayload } from 'jose'
import { getDb } from '../db/client'
import { type FlowRow, ssoFlows } from '../db/schema'
import { seal, unseal } from '../lib/crypto'
import { type Identity, signedIn } from '../oidc/identity'

/** How long a started sign-in may take, end to end (ARCHITECTURE §3.3: at most 10 minutes). */
export const FLOW_TTL_SECONDS = 600
/** How long the one-time code of the central callback lives (ARCHITECTURE §4: at most 60 s). */
export const COMPLETION_TTL_SECONDS = 60

export interface FlowSecrets {
  verifier: string
  nonce: string
}

/** A sign-in as `/sso/login` starts it. */
export interface Flow {
  id: string
  /** The host the sign-in started on, and must finish on. */
  hostname: string
  /** The host's organization when it started (null on the primary host). */
  orgId: string | null
  /** Whose Entra app signs in: the portal's integration, or null for the provider's app. */
  clientOrgId: string | null
  redirectUri: string
  /** The Entra authority tenant (a GUID or `organizations`). */
  tenant: string
  createdAt: number
  expiresAt: number
}

/** A flow with the secrets of its authorization request, as its sealed state carries it to the callback. */
export interface StartedFlow extends Flow {
  secrets: FlowSecrets
  /** `console`: a staff sign-in to the admin console (primary host only), which ends in a console session, never a handoff. */
  purpose?: 'console'
}

/** What the chooser offered: the verified identity and the phone systems it may pick from. */
export interface Choices {
  identity: Identity
  phoneSystemIds: string[]
}

/**
 * The flow store's transitions. Each `take…` succeeds once: a second call,
 * an expired flow or a value for another flow or host answers null.
 */
export interface FlowStore {
  /** The callback: records the flow as called back; false when it already was (a replayed state). */
  consume(flow: Flow, now: number): Promise<boolean>
  /** The central callback hands the verified identity to the flow's own host, behind a one-time code. */
  putCompletion(flow: Flow, identity: Identity, codeHash: string, now: number): Promise<void>
  /** `/sso/complete`: the flow in this browser's cookie, on this host, with this code, unexpired, not completed. */
  takeCompletion(
    flowId: string,
    hostname: string,
    codeHash: string,
    now: number,
  ): Promise<{ flow: Flow; identity: Identity } | null>
  /** A flow finished on its callback itself (direct mode, primary host). */
  markCompleted(flowId: string, now: number): Promise<void>
  putChoices(flowId: string, choices: Choices, tokenHash: string): Promise<void>
  /** `/sso/choose`: this browser's flow, this host, this token, not chosen yet, not expired. */
  takeChoice(
    flowId: string,
    hostname: string,
    tokenHash: string,
    now: number,
  ): Promise<{ flow: Flow; choices: Choices } | null>
  /**
   * Deletes up to `limit` flows that expired more than an hour ago (kept that
   * long for support questions); how many it deleted.
   */
  deleteExpired(now: number, limit: number): Promise<number>
}

const audience = {
  result: (flowId: string) => `flow-result:${flowId}`,
  choices: (flowId: string) => `flow-choices:${flowId}`,
}

function toFlow(row: FlowRow): Flow {
  return {
    id: row.id,
    hostname: row.hostname,
    orgId: row.orgId,
    clientOrgId: row.clientOrgId,
    redirectUri: row.redirectUri,
    tenant: row.tenant,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
  }
}

/** The D1 flow store; `flowKey` seals what it keeps of a flow's result. */
export function d1FlowStore(d1: D1Database, flowKey: Uint8Array): FlowStore {
  const db = getDb(d1)

  return {
    async consume(flow, now) {
      if (flow.expiresAt <= now) return false
      const row = await db
        .insert(ssoFlows)
        .values({
          id: flow.id,
          hostname: flow.hostname,
          orgId: flow.orgId,
          clientOrgId: flow.clientOrgId,
          redirectUri: flow.redirectUri,
          tenant: flow.tenant,
          createdAt: flow.createdAt,
          expiresAt: flow.expiresAt,
          consumedAt: now,
        })
        .onConflictDoNothing()
        .returning({ id: ssoFlows.id })
        .get()
      return row !== undefined
    },

    async putCompletion(flow, identity, codeHash, now) {
      const result = await seal({ ...signedIn(identity) }, flowKey, audience.result(flow.id), COMPLETION_TTL_SECONDS)
      await db
        .update(ssoFlows)
        .set({ result, completionCodeHash: codeHash, completionExpiresAt: now + COMPLETION_TTL_SECONDS * 1000 })
        .where(eq(ssoFlows.id, flow.id))
    },

    async takeCompletion(flowId, hostname, codeHash, now) {
      const row = await db
        .update(ssoFlows)
        .set({ completedAt: now })
        .where(
          and(
            eq(ssoFlows.id, flowId),
            eq(ssoFlows.hostname, hostname),
            eq(ssoFlows.completionCodeHash, codeHash),
            gt(ssoFlows.completionExpiresAt, now),
            isNull(ssoFlows.completedAt),
          ),
        )
        .returning()
        .get()
      if (!row?.result) return null
      const identity = await unseal<Identity & JWTPayload>(row.result, flowKey, audience.result(row.id))
      if (!identity) return null
      return { flow: toFlow(row), identity: signedIn(identity) }
    },

    async markCompleted(flowId, now) {
      await db.update(ssoFlows).set({ completedAt: now }).where(eq(ssoFlows.id, flowId))
    },

    async putChoices(flowId, choices, tokenHash) {
      const sealed = await seal(
        { identity: signedIn(choices.identity), phoneSystemIds: choices.phoneSystemIds },
        flowKey,
        audience.choices(flowId),
        FLOW_TTL_SECONDS,
      )
      await db.update(ssoFlows).set({ choices: sealed, choiceTokenHash: tokenHash }).where(eq(ssoFlows.id, flowId))
    },

    async takeChoice(flowId, hostname, tokenHash, now) {
      const row = await db
        .update(ssoFlows)
        .set({ chosenAt: now })
        .where(
          and(
            eq(ssoFlows.id, flowId),
            eq(ssoFlows.hostname, hostname),
            eq(ssoFlows.choiceTokenHash, tokenHash),
            isNull(ssoFlows.chosenAt),
            gt(ssoFlows.expiresAt, now),
          ),
        )
        .returning()
        .get()
      if (!row?.choices) return null
      const sealed = await unseal<Choices & JWTPayload>(row.choices, flowKey, audience.choices(row.id))
      if (!sealed) return null
      return { flow: toFlow(row), choices: { identity: sealed.identity, phoneSystemIds: sealed.phoneSystemIds } }
    },

    async deleteExpired(now, limit) {
      const expired = db
        .select({ id: ssoFlows.id })
        .from(ssoFlows)
        .where(lt(ssoFlows.expiresAt, now - 3600_000))
        .limit(limit)
      const result = await db.delete(ssoFlows).where(inArray(ssoFlows.id, expired)).run()
      return result.meta.changes ?? 0
    },
  }
}
