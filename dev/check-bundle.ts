/**
 * Part of `npm test`: the bundle `wrangler deploy` would upload starts in
 * workerd and serves, in production shape (minified, no vitest around it).
 * Catches what tests inside the vitest pool cannot, such as random values or
 * I/O at global scope, which the real runtime refuses at startup.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { TENANT, buildBundle, startWorkerd } from './workerd.ts'

const outDir = mkdtempSync(path.join(tmpdir(), 'sso-gateway-bundle-'))
let failures = 0
function check(name: string, ok: boolean, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`)
  if (!ok) failures++
}

try {
  buildBundle(outDir)
  const { mf } = await startWorkerd(outDir, '')
  try {
    const login = await mf.dispatchFetch(`http://${TENANT}/`)
    const html = await login.text()
    check('login page of a seeded tenant', login.status === 200 && html.includes('Sign in with Microsoft'), String(login.status))
    const second = await (await mf.dispatchFetch(`http://${TENANT}/sso/webclient`)).text()
    check('a fresh CSP nonce per answer', second.match(/nonce="([^"]+)"/)?.[1] !== html.match(/nonce="([^"]+)"/)?.[1])
    const unknown = await mf.dispatchFetch('http://unknown.localhost/')
    check('unknown host is a 404', unknown.status === 404, String(unknown.status))
    await unknown.text()
  } finally {
    await mf.dispose()
  }
} finally {
  rmSync(outDir, { recursive: true, force: true })
}
if (failures > 0) {
  console.error(`${failures} bundle check(s) failed`)
  process.exit(1)
}
console.log('bundle checks passed')
