/**
 * Accessibility checks in the browser tests: axe-core run in the page.
 *
 * The console's CSP (`script-src 'nonce-…'`) blocks an injected `<script>`
 * (`page.addScriptTag`), so axe's source is evaluated through the DevTools
 * protocol instead (`page.evaluate` of a string), which no CSP governs.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Page } from 'playwright-core'
import { expect } from 'vitest'

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

export interface AxeViolation {
  id: string
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null
  help: string
  helpUrl: string
  nodes: Array<{ target: unknown[] }>
}

/** Every axe violation on the page as it is now (all impacts). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE)
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<any> } }).axe
    const results = await axe.run(document, { resultTypes: ['violations'] })
    return results.violations.map((v: AxeViolation) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }))
  })
}

/** One line per violation and element: rule, impact, help, target. */
export function describeViolations(violations: AxeViolation[]): string[] {
  return violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id} (${v.impact}): ${v.help} — at ${n.target.map(String).join(' ')}`),
  )
}

/**
 * Fails (the test, at its end) when axe finds a serious or critical violation on the page, naming the rule, its impact, what it asks
 * for and the element, for each one. `name` says which page (and viewport) in the failure.
 */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  const violations = (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical')
  // Soft: the journey goes on, so one run lists every page's violations; the test fails at its end.
  expect.soft(describeViolations(violations), `accessibility of ${name} (${page.url()})`).toEqual([])
}
