/**
 * Finds what is left to fill in one environment of a wrangler.toml, on the
 * file's text (the marks live in comments, which no TOML parser keeps):
 *
 * - a value that is, or a line whose comment starts with, the mark
 *   `PLACEHOLDER` (`KEY = "x"  # PLACEHOLDER: what goes here`), or an array
 *   element under a comment line that does (routes);
 * - a host name under `.example`, the top-level domain reserved for examples
 *   (RFC 2606), which no deployed Worker can serve: the template's values, in
 *   case the mark was deleted and the value kept.
 *
 * Each is named by its TOML path (`env.production.vars.CLOUDFLARE_ZONE_ID`,
 * `env.production.routes[0]`, `env.production.d1_databases[0].database_id`)
 * and line, with what goes there: the comment's text after the mark.
 */

export const MARK = 'PLACEHOLDER'

export interface Placeholder {
  /** TOML path, e.g. `env.production.vars.PRIMARY_HOST`. */
  key: string
  line: number
  /** The value as written (one line). */
  value: string
  /** What goes there (the comment), or null. */
  hint: string | null
  /** The mark is in a comment: it must be deleted too. */
  markInComment: boolean
}

const RESERVED_EXAMPLE_NAME = /(?:^|[^A-Za-z0-9-])(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+\.example(?![A-Za-z0-9.-])/

/** Splits `value  # comment` at the first `#` outside a string. */
function splitComment(text: string): [value: string, comment: string | null] {
  let quote: string | null = null
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quote) {
      if (c === '\\' && quote === '"') i++
      else if (c === quote) quote = null
    } else if (c === '"' || c === "'") {
      quote = c
    } else if (c === '#') {
      return [text.slice(0, i).trim(), text.slice(i + 1).trim()]
    }
  }
  return [text.trim(), null]
}

/** The comment's text after the mark (`PLACEHOLDER: the zone` -> `the zone`), or the whole comment. */
function hintOf(comment: string | null): string | null {
  if (!comment) return null
  const text = comment.startsWith(MARK) ? comment.slice(MARK.length).replace(/^[:\s-]+/, '') : comment
  return text.trim() || null
}

export function findPlaceholders(text: string, env: string): Placeholder[] {
  const found: Placeholder[] = []
  const arrayTableCounts = new Map<string, number>()
  let table = ''
  let inEnv = false
  /** Set while inside a multi-line array value: its key and the next element's index. */
  let array: { key: string; index: number } | null = null
  /** A comment line carrying the mark: it names the next element or key. */
  let pending: { hint: string | null } | null = null

  const note = (key: string, line: number, raw: string, commentMark: { hint: string | null } | null) => {
    const [value, comment] = splitComment(raw)
    const markInComment = comment?.startsWith(MARK) === true
    if (value.includes(MARK) || markInComment || commentMark) {
      found.push({
        key,
        line,
        value,
        hint: hintOf(comment) ?? commentMark?.hint ?? null,
        markInComment: markInComment || commentMark !== null,
      })
    } else if (RESERVED_EXAMPLE_NAME.test(value)) {
      found.push({ key, line, value, hint: hintOf(comment), markInComment: false })
    }
  }

  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1
    const trimmed = raw.trim()
    const header = /^\[(\[)?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$/.exec(trimmed)
    if (header && !array) {
      const path = header[2]!.replace(/\s*\.\s*/g, '.')
      if (header[1]) {
        const index = arrayTableCounts.get(path) ?? 0
        arrayTableCounts.set(path, index + 1)
        table = `${path}[${index}]`
      } else {
        table = path
      }
      inEnv = path === `env.${env}` || path.startsWith(`env.${env}.`)
      pending = null
      return
    }
    if (!trimmed) return
    if (trimmed.startsWith('#')) {
      if (inEnv && trimmed.slice(1).trim().startsWith(MARK)) pending = { hint: hintOf(trimmed.slice(1).trim()) }
      return
    }
    const mark = pending
    pending = null
    if (array) {
      if (trimmed.startsWith(']')) {
        array = null
        return
      }
      if (inEnv) note(`${table}.${array.key}[${array.index}]`, line, trimmed.replace(/,\s*(#.*)?$/, ' $1'), mark)
      array.index++
      return
    }
    const assignment = /^([A-Za-z0-9_-]+|"[^"]*")\s*=\s*(.*)$/.exec(trimmed)
    if (!assignment) return
    const key = assignment[1]!.replace(/^"|"$/g, '')
    const [value] = splitComment(assignment[2]!)
    if (value === '[' || (value.startsWith('[') && !value.includes(']'))) {
      array = { key, index: 0 }
      return
    }
    if (inEnv) note(table ? `${table}.${key}` : key, line, assignment[2]!, mark)
  })
  return found
}
