/**
 * Plumbing shared by the local stand-in servers (Entra ID, the demo web
 * client, and the others): listening on loopback, reading bodies, answering
 * JSON, escaping HTML.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>

export interface Listening {
  server: http.Server
  port: number
  close(): Promise<void>
}

/** Serves `handler` on host:port (0 picks a free port); a thrown error becomes a 500 and a log line. */
export async function listen(name: string, handler: Handler, port = 0, host = '127.0.0.1'): Promise<Listening> {
  const server = http.createServer((req, res) => {
    handler(req, res).catch((error: unknown) => {
      console.error(`${name}:`, error)
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`${name} error`)
    })
  })
  // Microsoft's and Cloudflare's front ends keep idle connections open far longer than Node's 5 s
  // default; closing sooner races workerd reusing the connection ("Network connection lost").
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  await new Promise<void>((resolve) => server.listen(port, host, resolve))
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export function readBody(req: http.IncomingMessage, limit = 64 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) req.destroy(new Error('body too large'))
      else chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers })
  res.end(JSON.stringify(body))
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** A delay that does not keep the process alive (stand-ins run inside the test runner). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

/**
 * A local server: `serve()` starts it on a port (0: a free one) and answers
 * with `handle`; `close()` stops it; `unref()` lets the process exit while it
 * still listens (stand-ins started inside the test runner).
 */
export abstract class LocalServer {
  private listening: Listening | undefined
  /** The base URL clients use. */
  base = ''

  protected abstract readonly serverName: string
  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>

  /** Listens, then sets `base` from `baseFor(port)`. */
  protected async serve(port: number, host: string, baseFor: (port: number) => string): Promise<string> {
    this.listening = await listen(this.serverName, (req, res) => this.handle(req, res), port, host)
    this.base = baseFor(this.listening.port)
    return this.base
  }

  close(): Promise<void> {
    return this.listening?.close() ?? Promise.resolve()
  }

  unref(): void {
    this.listening?.server.unref()
  }
}
