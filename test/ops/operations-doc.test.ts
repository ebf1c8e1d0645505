/**
 * docs/OPERATIONS.md's queries read the Analytics Engine columns by number:
 * its layout table must be the one `src/observe/metrics.ts` writes, so a
 * column moved in code without the runbook fails here, not on a dashboard.
 */
import { describe, expect, it } from 'vitest'
import operations from '../../docs/OPERATIONS.md?raw'
import { LAYOUT } from '../../src/observe/metrics'

describe('docs/OPERATIONS.md', () => {
  it('documents every event of the metrics layout, column for column', () => {
    // The table's cells, whatever the formatter's padding: event -> [blobs, doubles].
    const rows = new Map(
      operations
        .split('\n')
        .filter((line) => /^\| `[a-z_]+` +\|/.test(line))
        .map((line) => line.split('|').map((cell) => cell.trim()))
        .map(([, event, blobs, doubles]) => [event!.replaceAll('`', ''), [blobs, doubles]]),
    )
    expect([...rows.keys()]).toEqual(Object.keys(LAYOUT))
    for (const [event, { blobs, doubles }] of Object.entries(LAYOUT)) {
      expect(rows.get(event)).toEqual([blobs.join(', '), doubles.join(', ')])
    }
  })

  it('its queries name the columns where the layout puts them', () => {
    const column = (event: keyof typeof LAYOUT, name: string) => {
      const { blobs, doubles } = LAYOUT[event] as { blobs: readonly string[]; doubles: readonly string[] }
      const blob = blobs.indexOf(name)
      return blob >= 0 ? `blob${blob + 2}` : `double${doubles.indexOf(name) + 1}`
    }
    expect(operations).toContain(`${column('sign_in', 'result')} AS result`)
    expect(operations).toContain(`${column('sign_in', 'orgId')} AS org_id, ${column('sign_in', 'reason')} AS reason`)
    expect(operations).toContain(`${column('sign_in', 'callbackMode')} AS callback_mode`)
    expect(operations).toContain(`quantileExactWeighted(0.95)(${column('sign_in', 'sinceStartMs')}, _sample_interval)`)
    expect(operations).toContain(`SUM(${column('sync', 'graphRequests')} * _sample_interval)`)
    expect(operations).toContain(`${column('hostname_status', 'hostname')} AS hostname`)
  })
})
