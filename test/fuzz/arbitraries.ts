/// <reference types="vite/client" />
/**
 * Generators shared by the fuzz tests, and the invariants every answer of the
 * gateway must keep (no stack trace, no internal error text, no secret).
 *
 * Objects that exist (organizations, phone systems, keys, hosts…) are drawn
 * as symbolic references (`{ ref: pool, index }`) resolved when the request
 * is made, so a counterexample stays readable and the fuzz can replace an
 * object a request deleted.
 */
import fc from 'fast-check'
import { expect } from 'vitest'
import { TEST_ADMIN_KEY, TEST_BINDINGS, TEST_CLIENT_SECRET, TEST_FLOW_KEY } from '../bindings'

// ---------------------------------------------------------------- the seed every fuzz run uses

/**
 * The fixed seed of every property (a failure replays exactly). `VITE_FUZZ_SEED=<n>`
 * in the environment explores another sequence; `VITE_FUZZ_RUNS=<n>` changes the run count.
 */
export const SEED = Number(import.meta.env.VITE_FUZZ_SEED ?? 20261202)
export const runs = (numRuns: number) => Number(import.meta.env.VITE_FUZZ_RUNS ?? numRuns)

// ---------------------------------------------------------------- strings

/** Strings that have broken parsers before: traversal, encodings, prototypes, SQL, controls, bidi, surrogates. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '.',
  '..',
  '../..',
  '%2e%2e',
  '%2E%2E%2F',
  '%2f',
  '%00',
  '%',
  '%%',
  '%E0%A4%A',
  '%ED%A0%80',
  '%ff',
  '%C0%AF',
  '%u0041',
  '+',
  '\u0000',
  '\u202e',
  '\ud800',
  '\uFEFF',
  'é',
  'e\u0301',
  '\u{1F600}',
  '日本語',
  'İ',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'null',
  'undefined',
  'NaN',
  'true',
  '0',
  '-1',
  '1e309',
  '9007199254740993',
  "' OR 1=1 --",
  '"; DROP TABLE organizations; --',
  '%_\\',
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template injection probe, on purpose
  '${7*7}',
  '{{7*7}}',
  'a\r\nSet-Cookie: x=y',
  '\t\n',
  'xn--',
  'xn--ls8h',
  'org_',
  'ps_',
  'key_',
  'sgk_',
]

/** A string of any kind: ASCII, any code point, graphemes, a nasty one, or a long one. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 10 }), weight: 1 },
  { arbitrary: fc.constantFrom(...NASTY_STRINGS), weight: 4 },
  {
    arbitrary: fc
      .tuple(fc.constantFrom('a', 'é', '%41', '.', '/', '\u{1F600}'), fc.constantFrom(65, 257, 1025, 5000))
      .map(([unit, n]) => unit.repeat(n)),
    weight: 1,
  },
)

/**
 * Something that may be sent as a header value: printable ASCII and tabs (workerd
 * sends Latin-1 too, but warns on every request, which would drown the test log).
 */
export function headerSafe(value: string): string {
  return value.replace(/[^\t\x20-\x7e]/g, '?')
}

/** A path segment: the string percent-encoded (usually) or raw, as a hostile client may send it. */
export const pathSegmentFrom = (value: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc
    .tuple(value, fc.constantFrom('encoded', 'encoded', 'raw', 'double-encoded'))
    .map(([v, how]) => (how === 'raw' ? v : how === 'encoded' ? safeEncode(v) : safeEncode(safeEncode(v))))

/** encodeURIComponent that does not throw on a lone surrogate (it is sent as U+FFFD). */
export function safeEncode(value: string): string {
  return encodeURIComponent(wellFormed(value))
}

/** The string with lone surrogates replaced by U+FFFD (String.prototype.toWellFormed, which ES2023 types lack). */
export function wellFormed(value: string): string {
  return value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
}

// ---------------------------------------------------------------- requests

export const STANDARD_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
/** Odd methods: ones fetch allows (TRACE, CONNECT and TRACK it refuses), lowercase ones it does not normalize, inventions. */
export const ODD_METHODS = ['HEAD', 'OPTIONS', 'PROPFIND', 'MKCOL', 'QUERY', 'patch', 'put', 'FOO', 'G3T', 'PURGE']

export const anyMethod: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...STANDARD_METHODS), weight: 5 },
  { arbitrary: fc.constantFrom(...ODD_METHODS), weight: 1 },
)

/** Whether a method may carry a body in fetch. */
export const takesBody = (method: string) => !['GET', 'HEAD'].includes(method.toUpperCase())

/** Query parameters: known names with hostile values, hostile names, repeats, raw (unencoded) pairs. */
export function queryString(knownNames: readonly string[]): fc.Arbitrary<string> {
  const name = fc.oneof(
    { arbitrary: fc.constantFrom(...knownNames, 'state', 'code', 'limit', 'cursor'), weight: 3 },
    { arbitrary: hostileString, weight: 1 },
  )
  const value = fc.oneof(
    { arbitrary: hostileString, weight: 3 },
    { arbitrary: fc.integer().map(String), weight: 1 },
    {
      arbitrary: fc.constantFrom('', '0', '1', '1000', '1001', '100000000000', '-5', '1.5', '2026-01-01T00:00:00Z'),
      weight: 1,
    },
  )
  const pair = fc
    .tuple(name, value, fc.boolean())
    .map(([n, v, raw]) =>
      raw
        ? `${wellFormed(n).replace(/[#&]/g, '')}=${wellFormed(v).replace(/[#&]/g, '')}`
        : `${safeEncode(n)}=${safeEncode(v)}`,
    )
  return fc.oneof(
    { arbitrary: fc.constant(''), weight: 2 },
    { arbitrary: fc.array(pair, { minLength: 1, maxLength: 4 }).map((pairs) => `?${pairs.join('&')}`), weight: 3 },
    { arbitrary: fc.constantFrom('?', '?&', '?=', '?%', '?a=%ZZ', '?a&a&a'), weight: 1 },
  )
}

/** Content types a JSON API meets: right ones with odd spelling, near misses, wrong ones, garbage. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      'application/json',
      'application/JSON; charset=utf-8',
      'application/json;charset=latin1',
      'Application/Json ; foo=bar',
      'application/json-patch+json',
      'application/jsonx',
      'application/vnd.api+json',
      'text/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/octet-stream',
      '*/*',
      '',
      ';',
    ),
    weight: 4,
  },
  { arbitrary: fc.constant(undefined), weight: 2 },
  { arbitrary: hostileString.map(headerSafe), weight: 1 },
)

/** Bodies that are not what anyone expects: random JSON, broken JSON, forms, large, empty. */
export const randomBody: fc.Arbitrary<{ text: string; type: string | undefined }> = fc.oneof(
  {
    arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ text: JSON.stringify(v), type: 'application/json' })),
    weight: 4,
  },
  {
    arbitrary: fc
      .constantFrom(
        '{',
        '{"a":',
        '[1,2',
        '{"name":"x",}',
        "{'name':'x'}",
        'NaN',
        'undefined',
        '\u0000',
        '{"a":"\\ud800"}',
        '{"__proto__":{"polluted":true}}',
        '{"constructor":{"prototype":{"polluted":true}}}',
        `${'['.repeat(5000)}${']'.repeat(5000)}`,
        '\uFEFF{}',
        '',
      )
      .map((text) => ({ text, type: 'application/json' })),
    weight: 2,
  },
  {
    arbitrary: fc.array(fc.tuple(hostileString, hostileString), { maxLength: 4 }).map((pairs) => ({
      text: new URLSearchParams(pairs.map(([k, v]) => [wellFormed(k), wellFormed(v)])).toString(),
      type: 'application/x-www-form-urlencoded',
    })),
    weight: 2,
  },
  {
    arbitrary: fc
      .tuple(fc.constantFrom(10_000, 100_000, 300_000), fc.constantFrom('a', 'é', '\\u0000'))
      .map(([n, unit]) => ({ text: `{"name":"${unit.repeat(n)}"}`, type: 'application/json' })),
    weight: 1,
  },
  { arbitrary: hostileString.map((text) => ({ text, type: 'text/plain' })), weight: 1 },
)

// ---------------------------------------------------------------- invariants of every answer

const SECRETS = [
  TEST_ADMIN_KEY,
  TEST_CLIENT_SECRET,
  TEST_FLOW_KEY,
  TEST_BINDINGS.DATA_KEY,
  // The private half of the signing keys (a JWK's "d").
  '"d":',
]

/** Text that only an unhandled error, a driver or a runtime would write. */
const INTERNAL_TEXT = [
  /\n\s+at /,
  // An error's message with the file it came from (Error: … src/x.ts, worker.js:1:234).
  /\w*Error:[^\n]*(\.(?:m?[jt]sx?)\b|\/src\/)/,
  /^\s*at .+:\d+:\d+\)?$/m,
  /TypeError/,
  /ReferenceError/,
  /RangeError/,
  /SyntaxError/,
  /D1_ERROR/,
  /SQLITE/i,
  /no such (table|column)/i,
  /node_modules/,
  /\bInternal error\b/,
  /\bunhandled\b/i,
  /\[object Object\]/,
]

/** A 4xx of the admin API: JSON `{"error": {"code", "message", "field"?}}` and nothing else. */
export function expectApiError(res: Response, text: string, context: string): void {
  const why = `${context}: ${res.status} ${text.slice(0, 300)}`
  expect(res.headers.get('content-type') ?? '', why).toMatch(/^application\/json/)
  let json: any
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  expect(Object.keys(json ?? {}), why).toEqual(['error'])
  const { code, message, field, ...rest } = json.error ?? {}
  expect(typeof code, why).toBe('string')
  expect(typeof message, why).toBe('string')
  expect(field === undefined || typeof field === 'string', why).toBe(true)
  expect(rest, why).toEqual({})
}

/** The body of any answer: no stack, no internal error text, no secret. */
export function expectNoLeak(text: string, context: string): void {
  for (const pattern of INTERNAL_TEXT) {
    expect(pattern.test(text), `${context}: the body matches ${pattern}: ${text.slice(0, 500)}`).toBe(false)
  }
  for (const secret of SECRETS) {
    expect(text.includes(secret), `${context}: the body carries a secret (${secret.slice(0, 6)}…)`).toBe(false)
  }
}
