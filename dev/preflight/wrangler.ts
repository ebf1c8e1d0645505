/**
 * Running wrangler for `npm run preflight`: the project's own wrangler, never
 * interactive (no stdin: it cannot prompt for a login), its output captured,
 * and its failures read into one sentence and the fix for it.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { stripVTControlCharacters } from 'node:util'

const wrangler = path.resolve(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'wrangler')

export interface WranglerRun {
  code: number | null
  stdout: string
  /** stdout and stderr together, without colours. */
  output: string
}

export function runWrangler(args: string[], timeoutMs = 120_000): Promise<WranglerRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(wrangler, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
      timeout: timeoutMs,
    })
    let stdout = ''
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      output += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (signal) output += `\n[ERROR] wrangler ${args[0]} was stopped after ${timeoutMs / 1000} s (${signal})`
      resolve({ code, stdout: stripVTControlCharacters(stdout), output: stripVTControlCharacters(output) })
    })
  })
}

/** wrangler's error: the `[ERROR]` line, and the API's own message (`... [code: N]`) when there is one. */
export function wranglerError(output: string): string {
  const lines = output.split('\n')
  const at = lines.findIndex((line) => line.includes('[ERROR]'))
  if (at === -1)
    return (
      lines
        .filter((line) => line.trim())
        .slice(-1)[0]
        ?.trim() ?? 'no output'
    )
  const error = lines[at]!.replace(/^.*\[ERROR\]\s*/, '').trim()
  const api = lines
    .slice(at + 1, at + 6)
    .map((line) => line.trim())
    .find((line) => /\[code: \d+\]$/.test(line))
  return api ? `${error} ${api}` : error
}

/** Why wrangler could not talk to Cloudflare, and what to do about it. */
export function cloudflareFailure(output: string): { problem: string; fix: string } {
  const error = wranglerError(output)
  if (/CLOUDFLARE_API_TOKEN environment variable|not logged in|not authenticated|Did not login/i.test(output)) {
    return {
      problem: 'not logged in to Cloudflare (no `wrangler login`, no CLOUDFLARE_API_TOKEN)',
      fix: 'run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID), then run preflight again',
    }
  }
  if (/fetch failed|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|network connection/i.test(output)) {
    return {
      problem: `Cloudflare's API cannot be reached, offline? (${error})`,
      fix: 'check the network connection (and CLOUDFLARE_API_BASE_URL, if set), then run preflight again',
    }
  }
  if (/\[code: (10000|9109|7403)\]|Authentication error/i.test(output)) {
    return {
      problem: `Cloudflare refused the credentials for this account (${error})`,
      fix: 'run `npx wrangler login` with the account that owns the Worker, or use a token with "Workers Scripts: Read" and "D1: Read"',
    }
  }
  if (/More than one account/i.test(output)) {
    return {
      problem: `the login reaches several accounts (${error})`,
      fix: 'set CLOUDFLARE_ACCOUNT_ID to the account that owns the Worker',
    }
  }
  return { problem: error, fix: 'run the wrangler command shown for the details, then run preflight again' }
}
