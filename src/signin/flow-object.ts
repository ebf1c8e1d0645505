/**
 * One sign-in flow past its callback, in a Durable Object of its own
 * (`SIGNIN_FLOWS`, addressed by `idFromName(flowId)`; ARCHITECTURE §3.4, 8). The
 * object is created by the callback that uses up a genuine state, in the
 * location that callback ran in, so every later step is a round trip to a
 * nearby object rather than to D1's primary.
 *
 * Every transition is single-use because each is one synchronous read and
 * write of the object's storage (`ctx.storage.kv`): no `await` sits between
 * checking a condition and recording that it was used, so two requests
 * racing for the same state, code or token cannot both see it unused. The
 * object holds only what the Worker-side store (`flow-store.ts`) hands it:
 * the flow's public facts, hashes of one-time values and values sealed under
 * FLOW_KEY, which it can neither open nor forge.
 *
 * An alarm deletes everything a little after the flow expires, so nothing
 * accumulates; until it runs, an expired flow refuses every transition.
 */
import { DurableObject } from 'cloudflare:workers'
import type { Env } from '../env'

/** A sign-in's public facts, as the callback records them (`flow-store.ts` re-exports it with the transitions). */
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

/**
 * How long an object outlives its flow. A state stops opening at the flow's
 * expiry and `consume` refuses an expired flow too, so a replay after the
 * deletion is refused without the record; the grace only covers clocks of
 * two locations disagreeing by up to this much. Nothing else reads a flow
 * later: the sign-in audit (`sign_in_attempts`) is what support looks at.
 */
export const FLOW_GRACE_MS = 5 * 60_000

/** All the object keeps, under one key: the flow, and how far it has got. */
export interface FlowRecord {
  flow: Flow
  consumedAt: number
  /**
   * Whether the flow ends on its own callback (direct mode, the primary host): such a flow is never
   * completed through `/sso/complete`, whatever code is shown.
   */
  finishesOnCallback: boolean
  /** When `/sso/complete` finished a central flow: once. */
  completedAt: number | null
  /** Chooser only: the identity and the phone systems offered, sealed. */
  choices: string | null
  choiceTokenHash: string | null
  chosenAt: number | null
}

const KEY = 'flow'

export class SignInFlow extends DurableObject<Env> {
  private get record(): FlowRecord | undefined {
    return this.ctx.storage.kv.get<FlowRecord>(KEY)
  }

  private save(record: FlowRecord): void {
    this.ctx.storage.kv.put(KEY, record)
  }

  /** The callback: records the flow; false when it already was (a replayed state) or has expired. */
  async consume(flow: Flow, finishesOnCallback: boolean, now: number): Promise<boolean> {
    if (flow.expiresAt <= now || this.record) return false
    this.save({
      flow,
      consumedAt: now,
      finishesOnCallback,
      completedAt: null,
      choices: null,
      choiceTokenHash: null,
      chosenAt: null,
    })
    await this.ctx.storage.setAlarm(flow.expiresAt + FLOW_GRACE_MS)
    return true
  }

  /**
   * `/sso/complete` of a central flow, once: this host, unexpired, called back centrally, not completed yet.
   * The identity travels sealed in the completion code itself (`flow-store.ts`); what makes the code single-use
   * is this record.
   */
  complete(hostname: string, now: number): Flow | null {
    const record = this.record
    if (
      !record ||
      record.finishesOnCallback ||
      record.flow.hostname !== hostname ||
      record.flow.expiresAt <= now ||
      record.completedAt !== null
    )
      return null
    this.save({ ...record, completedAt: now })
    return record.flow
  }

  putChoices(choices: string, tokenHash: string): void {
    const record = this.record
    if (record) this.save({ ...record, choices, choiceTokenHash: tokenHash })
  }

  /** The sealed choices, once: this host, this token, not chosen yet, unexpired. */
  takeChoice(hostname: string, tokenHash: string, now: number): { flow: Flow; choices: string } | null {
    const record = this.record
    if (
      !record?.choices ||
      record.flow.hostname !== hostname ||
      record.choiceTokenHash !== tokenHash ||
      record.chosenAt !== null ||
      record.flow.expiresAt <= now
    )
      return null
    this.save({ ...record, chosenAt: now })
    return { flow: record.flow, choices: record.choices }
  }

  /** The flow is over: nothing of it stays (the compatibility date makes `deleteAll` drop the alarm too). */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll()
  }
}
