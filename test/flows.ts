/**
 * What the sign-in flow objects (`SIGNIN_FLOWS`, one Durable Object per flow)
 * hold, read from their storage: the tests' view of the flows a sign-in left
 * behind, as they once read the `sso_flows` table.
 */
import { env, listDurableObjectIds, runInDurableObject } from 'cloudflare:test'
import { getConfig } from '../src/config'
import { flowFromState } from '../src/signin/flow'
import type { FlowRecord, SignInFlow } from '../src/signin/flow-object'
import { FLOW_TTL_SECONDS, type Flow } from '../src/signin/flow-store'

/** The object a flow id names. */
export function flowObject(flowId: string): DurableObjectStub<SignInFlow> {
  return env.SIGNIN_FLOWS.get(env.SIGNIN_FLOWS.idFromName(flowId)) as unknown as DurableObjectStub<SignInFlow>
}

/** Everything an object keeps (the flow's record, its alarm), read inside it. */
export function storageOf(stub: DurableObjectStub<SignInFlow>): Promise<{ keys: string[]; alarm: number | null }> {
  return runInDurableObject(stub, async (_instance, state) => ({
    keys: [...state.storage.kv.list()].map(([key]) => key),
    alarm: await state.storage.getAlarm(),
  }))
}

/** The record an object holds, if any. */
export function recordIn(stub: DurableObjectStub<SignInFlow>): Promise<FlowRecord | null> {
  return runInDurableObject(stub, (_instance, state) => state.storage.kv.get<FlowRecord>('flow') ?? null)
}

/**
 * How many flow objects were ever reached (Miniflare lists an object once a call ran in it, even one that
 * stored nothing): what a request that must not touch any flow leaves unchanged.
 */
export async function flowObjectCount(): Promise<number> {
  return (await listDurableObjectIds(env.SIGNIN_FLOWS)).length
}

/** The records of the flows that started on `hostname`, oldest first. */
export async function flowsOf(hostname: string): Promise<FlowRecord[]> {
  const records: FlowRecord[] = []
  for (const id of await listDurableObjectIds(env.SIGNIN_FLOWS)) {
    const record = await recordIn(env.SIGNIN_FLOWS.get(id) as unknown as DurableObjectStub<SignInFlow>)
    if (record?.flow.hostname === hostname) records.push(record)
  }
  return records.sort((a, b) => a.consumedAt - b.consumedAt)
}

/** The id of the flow a genuine state carries (what the gateway reads from it). */
export async function flowIdOfState(state: string): Promise<string> {
  const flow = await flowFromState(state, getConfig(env as never).flowKey)
  if (!flow) throw new Error('not a genuine state')
  return flow.id
}

/** Rewrites what a flow's object holds (a test standing in for time passing). */
export function changeRecord(flowId: string, change: (record: FlowRecord) => FlowRecord): Promise<void> {
  return runInDurableObject(flowObject(flowId), (_instance, state) => {
    const record = state.storage.kv.get<FlowRecord>('flow')
    if (!record) throw new Error(`flow ${flowId} holds nothing`)
    state.storage.kv.put('flow', change(record))
  })
}

/** A flow as the callback records it, for tests of the store and the object: `over` sets what a test needs. */
export function newFlow(tenant: string, now = Date.now(), over: Partial<Flow> = {}): Flow {
  return {
    id: crypto.randomUUID(),
    hostname: 'acme.localhost',
    orgId: 'org_1',
    clientOrgId: null,
    redirectUri: 'https://login.localhost/sso/callback',
    tenant,
    createdAt: now,
    expiresAt: now + FLOW_TTL_SECONDS * 1000,
    ...over,
  }
}
