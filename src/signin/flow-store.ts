/**
 * Where sign-in flows live between requests (ARCHITECTURE §3, 4, 8). A flow is not
 * stored when it starts: `/sso/login` seals it into the `state` it sends to
 * Entra (see `flow.ts`), so an anonymous request writes nothing. The callback
 * that brings that state back creates the flow's own Durable Object
 * (`flow-object.ts`), and every transition is one call to it that checks and
 * records in one step, so a state, a completion code or a chooser token can be
 * used once, even by two requests racing each other. The offered choices
 * are sealed here under FLOW_KEY and bound to their flow before they leave
 * the Worker, so the object never holds them readable and a value copied to
 * another flow does not open. A central callback's verified identity is not
 * stored at all: it travels sealed in the completion code (`flow.ts`), and
 * the object only records that the flow was completed, once.
 */
import type { JWTPayload } from 'jose'
import { AppError } from '../errors'
import { seal, unseal } from '../lib/crypto'
import { type Identity, signedIn } from '../oidc/identity'
import type { Flow, SignInFlow } from './flow-object'

export type { Flow } from './flow-object'

/** How long a started sign-in may take, end to end (ARCHITECTURE §3.3: at most 10 minutes). */
export const FLOW_TTL_SECONDS = 600
/** How long the one-time code of the central callback lives (ARCHITECTURE §4: at most 60 s). */
export const COMPLETION_TTL_SECONDS = 60

export interface FlowSecrets {
  verifier: string
  nonce: string
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
  /**
   * The callback: records the flow as called back; false when it already was (a replayed state).
   * `finishesOnCallback`: the flow ends on this callback (direct mode, the primary host), so it can never be
   * completed through `/sso/complete`.
   */
  consume(flow: Flow, finishesOnCallback: boolean, now: number): Promise<boolean>
  /** `/sso/complete`: the flow in this browser's cookie, on this host, called back centrally, unexpired, once. */
  complete(flowId: string, hostname: string, now: number): Promise<Flow | null>
  putChoices(flowId: string, choices: Choices, tokenHash: string): Promise<void>
  /** `/sso/choose`: this browser's flow, this host, this token, not chosen yet, not expired. */
  takeChoice(
    flowId: string,
    hostname: string,
    tokenHash: string,
    now: number,
  ): Promise<{ flow: Flow; choices: Choices } | null>
}

const audience = {
  choices: (flowId: string) => `flow-choices:${flowId}`,
}

/** What the object keeps of a flow: its public facts, never the PKCE verifier or nonce a started flow carries. */
function factsOf(flow: Flow): Flow {
  const { id, hostname, orgId, clientOrgId, redirectUri, tenant, createdAt, expiresAt } = flow
  return { id, hostname, orgId, clientOrgId, redirectUri, tenant, createdAt, expiresAt }
}

/**
 * Whether a Durable Object call failed on the platform's side (the object overloaded, reset, or unreachable):
 * Cloudflare marks those `retryable` or `overloaded`. An error the object's own code threw is a bug, and stays one.
 */
function objectUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const flags = error as { retryable?: unknown; overloaded?: unknown }
  return flags.retryable === true || flags.overloaded === true
}

/** A flow object's call; its outage is a 503 to start again (the flow is unchanged), not an internal error. */
async function reach<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (!objectUnavailable(error)) throw error
    throw new AppError('flow_store_unavailable', 'The sign-in flow store did not answer', {
      cause: error,
      headers: { 'Retry-After': '5' },
    })
  }
}

/** The flow store on `SIGNIN_FLOWS`, one object per flow; `flowKey` seals what it keeps of a flow's result. */
export function durableFlowStore(namespace: DurableObjectNamespace, flowKey: Uint8Array): FlowStore {
  const object = (flowId: string) =>
    namespace.get(namespace.idFromName(flowId)) as unknown as DurableObjectStub<SignInFlow>

  return {
    async consume(flow, finishesOnCallback, now) {
      // An expired flow is refused before it costs an object.
      if (flow.expiresAt <= now) return false
      return reach(() => object(flow.id).consume(factsOf(flow), finishesOnCallback, now))
    },

    complete(flowId, hostname, now) {
      return reach(() => object(flowId).complete(hostname, now))
    },

    async putChoices(flowId, choices, tokenHash) {
      const sealed = await seal(
        { identity: signedIn(choices.identity), phoneSystemIds: choices.phoneSystemIds },
        flowKey,
        audience.choices(flowId),
        FLOW_TTL_SECONDS,
      )
      await reach(() => object(flowId).putChoices(sealed, tokenHash))
    },

    async takeChoice(flowId, hostname, tokenHash, now) {
      const taken = await reach(() => object(flowId).takeChoice(hostname, tokenHash, now))
      if (!taken) return null
      const sealed = await unseal<Choices & JWTPayload>(taken.choices, flowKey, audience.choices(flowId))
      if (!sealed) return null
      return { flow: taken.flow, choices: { identity: sealed.identity, phoneSystemIds: sealed.phoneSystemIds } }
    },
  }
}
