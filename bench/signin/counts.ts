/**
 * What the bench's D1 meter (worker/d1-meter.ts) counts per step of a
 * sign-in, shared by the Worker side and the report.
 */

/** Per kind: every call, the ones on the critical path, the ones still running (or started) after the response. */
export interface KindCounts {
  total: number
  sequential: number
  afterResponse: number
  /** Statements (a batch holds several). */
  statements: number
  /** Milliseconds the calls took, as the Worker sees them (the clock moves on across I/O). */
  ms: number
}

export interface StepCounts {
  requests: number
  read: KindCounts
  write: KindCounts
}

export function newStepCounts(): StepCounts {
  const kind = (): KindCounts => ({ total: 0, sequential: 0, afterResponse: 0, statements: 0, ms: 0 })
  return { requests: 0, read: kind(), write: kind() }
}
