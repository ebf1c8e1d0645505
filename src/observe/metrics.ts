/**
 * Workers Analytics Engine data points (ARCHITECTURE §11): one per sign-in
 * step, per sync and per hostname status change, in the `METRICS` dataset.
 * The column layout of each event lives here and only here: docs/OPERATIONS.md
 * queries it (`blob1` is always the event). Values are identifiers, codes and
 * counts: never a token, code, cookie, key or user name. Writing a data point
 * never fails a request: a missing binding (local tools, tests that do not
 * ask) or a failing write is skipped.
 *
 * @see https://developers.cloudflare.com/analytics/analytics-engine/get-started/
 */
import { log } from '../log'

/** Where the points go: the `METRICS` binding when configured. */
export interface MetricsSink {
  METRICS?: AnalyticsEngineDataset
}

export type SignInStep = 'callback' | 'complete' | 'choose'
export type CallbackModeSeen = 'central' | 'direct' | 'primary' | 'unknown'

export interface SignInPoint {
  result: 'success' | 'pending' | 'failure'
  /** The audit's reason: `handoff`, `central_callback`, `chooser`, or an error code (`not_listed`, `entra_error`…). */
  reason: string
  step: SignInStep
  orgId: string | null
  callbackMode: CallbackModeSeen
  hostname: string | null
  /** This request's duration, ms. */
  requestMs: number
  /** From the login redirect to the end of this step, ms (0 when the flow is unknown). */
  sinceStartMs: number
}

export interface SyncPoint {
  result: 'success' | 'failure'
  /** `ok`, or the error code (`graph_permission_missing`, `sync_too_large`…). */
  reason: string
  orgId: string
  phoneSystemId: string
  trigger: 'api' | 'scheduled'
  durationMs: number
  added: number
  removed: number
  updated: number
  unchanged: number
  total: number
  graphRequests: number
}

/** One per cron run that plans scheduled syncs (`sync/fleet-queue.ts`): is the fleet keeping up? */
export interface SyncPlanPoint {
  /** `behind` when due phone systems were left for later runs, else `ok`. */
  state: 'ok' | 'behind'
  due: number
  sent: number
  backlog: number
  lateMs: number
  backedOff: number
  limit: number
}

export interface HostnameStatusPoint {
  hostname: string
  orgId: string
  from: string
  to: string
}

/**
 * The layout, by event: the blobs after `blob1` (the event) and the doubles,
 * in order. Exported so the docs check and the tests read the same layout.
 */
export const LAYOUT = {
  sign_in: {
    blobs: ['result', 'reason', 'orgId', 'callbackMode', 'step', 'hostname'],
    doubles: ['requestMs', 'sinceStartMs'],
  },
  sync: {
    blobs: ['result', 'reason', 'orgId', 'phoneSystemId', 'trigger'],
    doubles: ['durationMs', 'added', 'removed', 'updated', 'unchanged', 'total', 'graphRequests'],
  },
  hostname_status: {
    blobs: ['from', 'to', 'orgId', 'hostname'],
    doubles: [],
  },
  sync_plan: {
    blobs: ['state'],
    doubles: ['due', 'sent', 'backlog', 'lateMs', 'backedOff', 'limit'],
  },
} as const

type Event = keyof typeof LAYOUT
type PointOf<E extends Event> = E extends 'sign_in'
  ? SignInPoint
  : E extends 'sync'
    ? SyncPoint
    : E extends 'sync_plan'
      ? SyncPlanPoint
      : HostnameStatusPoint

/** The data point of an event, as Analytics Engine stores it (pure: the tests read it). */
export function dataPoint<E extends Event>(
  event: E,
  point: PointOf<E>,
  index: string | null,
): AnalyticsEngineDataPoint {
  const fields = point as unknown as Record<string, string | number | null>
  const layout = LAYOUT[event]
  return {
    // The index is the sampling key: per organization, so one busy tenant is sampled on its own.
    indexes: [index ?? '-'],
    blobs: [event, ...layout.blobs.map((name) => String(fields[name] ?? ''))],
    doubles: layout.doubles.map((name) => Number(fields[name] ?? 0)),
  }
}

function write<E extends Event>(sink: MetricsSink, event: E, point: PointOf<E>, index: string | null): void {
  if (!sink.METRICS) return
  try {
    sink.METRICS.writeDataPoint(dataPoint(event, point, index))
  } catch (error) {
    log('warn', 'analytics data point dropped', { event, error: String(error) })
  }
}

export const metrics = {
  signIn: (sink: MetricsSink, point: SignInPoint) => write(sink, 'sign_in', point, point.orgId),
  sync: (sink: MetricsSink, point: SyncPoint) => write(sink, 'sync', point, point.orgId),
  hostnameStatus: (sink: MetricsSink, point: HostnameStatusPoint) => write(sink, 'hostname_status', point, point.orgId),
  syncPlan: (sink: MetricsSink, point: SyncPlanPoint) => write(sink, 'sync_plan', point, null),
}
