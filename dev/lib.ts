/**
 * Small helpers shared by the local scripts (npm start, bench, e2e): talking
 * to a server on loopback under a chosen Host header, waiting for it, and
 * generating development secrets.
 */
import { spawn } from 'node:child_process'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { SecretName } from '../src/secrets.ts'

export interface HostRequest {
  port: number
  host: string
  method?: string
  path: string
  headers?: Record<string, string>
  body?: string
}

export interface HostResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** An HTTP request to 127.0.0.1 with an explicit Host header (fetch does not let us set Host). */
export function requestWithHost(req: HostRequest): Promise<HostResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        host: '127.0.0.1',
        port: req.port,
        method: req.method ?? 'GET',
        path: req.path,
        headers: { host: req.host, ...req.headers },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', reject)
      },
    )
    outgoing.on('error', reject)
    if (req.body !== undefined) outgoing.write(req.body)
    outgoing.end()
  })
}

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    try {
      if (await check()) return
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`Timed out after ${timeoutMs / 1000}s waiting for ${what}`)
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url')
}

/** A private EC P-256 JWK with a `kid`, as SIGNING_KEYS holds them. */
export function newSigningJwk(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>
  const kid = `${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}`
  return { ...jwk, kid, alg: 'ES256', use: 'sig' }
}

/**
 * Fresh values for every secret the gateway reads (src/secrets.ts), valid by
 * its rules: .dev.vars (`npm start`), and the stand-in secrets `npm run
 * preflight` validates a deploy environment's vars with.
 */
export function newDevSecrets(): Record<SecretName, string> {
  return {
    ADMIN_API_KEY: `dev-${base64url(randomBytes(24))}`,
    FLOW_KEY: base64url(randomBytes(32)),
    DATA_KEY: base64url(randomBytes(32)),
    SIGNING_KEYS: JSON.stringify([newSigningJwk()]),
    ENTRA_CLIENT_SECRET: `dev-client-secret-${base64url(randomBytes(16))}`,
    CLOUDFLARE_API_TOKEN: `dev-cloudflare-token-${base64url(randomBytes(16))}`,
  }
}

/** Fresh development secrets, one .dev.vars line each. */
function devSecretLines(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(newDevSecrets()).map(([name, value]) => [
      name,
      name === 'SIGNING_KEYS' ? `${name}='${value}'` : `${name}=${value}`,
    ]),
  )
}

export function newDevVars(): string {
  return [
    '# Development secrets written by `npm start`. Never commit this file.',
    ...Object.values(devSecretLines()),
    '',
  ].join('\n')
}

/** Reads KEY=value lines (single-quoted values allowed) from a .dev.vars file. */
export function readDevVars(path: string): Record<string, string> {
  const vars: Record<string, string> = {}
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (!match) continue
    let value = match[2]!
    if (value.startsWith("'") && value.endsWith("'")) value = value.slice(1, -1)
    vars[match[1]!] = value
  }
  return vars
}

/** Creates .dev.vars, or adds the secrets a newer version needs to an existing one (never changes a value). */
export function ensureDevVars(path: string): { created: boolean; vars: Record<string, string> } {
  const created = !existsSync(path)
  if (created) {
    writeFileSync(path, newDevVars(), { mode: 0o600 })
  } else {
    const present = readDevVars(path)
    const missing = Object.entries(devSecretLines()).filter(([name]) => !(name in present))
    if (missing.length > 0) {
      const text = readFileSync(path, 'utf8')
      writeFileSync(path, `${text.endsWith('\n') ? text : `${text}\n`}${missing.map(([, line]) => line).join('\n')}\n`)
    }
  }
  return { created, vars: readDevVars(path) }
}

/**
 * Runs a command to completion; rejects on a non-zero exit. `capture` keeps
 * its output (stdout and stderr) and answers it, and shows it only when the
 * command fails: the wall of text a successful run prints is nobody's news.
 */
export function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  stdio: 'inherit' | 'ignore' | 'capture' = 'inherit',
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: stdio === 'capture' ? 'pipe' : stdio, env })
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code === 0) return resolve(output)
      if (stdio === 'capture') process.stderr.write(output)
      reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))
    })
  })
}
