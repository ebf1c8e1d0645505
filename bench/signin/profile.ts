/**
 * BENCH_PROFILE=<dir>: a V8 CPU profile of the gateway's isolate for each
 * cell at c=8, through workerd's inspector (Chrome DevTools Protocol), written
 * as `<cell>.cpuprofile` (open in Chrome DevTools or speedscope) with the
 * top functions by self time printed. JavaScript and the runtime's own calls
 * made from it (WebCrypto, serialization); not workerd's threads beyond the
 * isolate.
 */

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export class InspectorSession {
  #socket: WebSocket
  #next = 1
  #pending = new Map<number, (result: unknown) => void>()

  private constructor(socket: WebSocket) {
    this.#socket = socket
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: unknown }
      if (message.id === undefined) return
      const resolve = this.#pending.get(message.id)
      this.#pending.delete(message.id)
      resolve?.(message.error ? Promise.reject(new Error(JSON.stringify(message.error))) : message.result)
    })
  }

  /** The isolate of the Worker whose inspector target's title contains `worker`. */
  static async open(inspectorPort: number, worker: string): Promise<InspectorSession> {
    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as Array<{
      title: string
      webSocketDebuggerUrl: string
    }>
    const target = targets.find((t) => t.title.includes(worker))
    if (!target) throw new Error(`no inspector target for ${worker}: ${targets.map((t) => t.title).join(', ')}`)
    const url = target.webSocketDebuggerUrl.replace('localhost', '127.0.0.1')
    const socket = new WebSocket(url.startsWith('ws') ? url : `ws://127.0.0.1:${inspectorPort}/${url}`)
    await new Promise((resolve, reject) => {
      socket.addEventListener('open', resolve, { once: true })
      socket.addEventListener('error', reject, { once: true })
    })
    const session = new InspectorSession(socket)
    await session.send('Profiler.enable')
    await session.send('Profiler.setSamplingInterval', { interval: 100 })
    return session
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#next++
    this.#socket.send(JSON.stringify({ id, method, params }))
    return new Promise((resolve) => this.#pending.set(id, resolve))
  }

  async start(): Promise<void> {
    await this.send('Profiler.start')
  }

  async stop(): Promise<Profile> {
    return ((await this.send('Profiler.stop')) as { profile: Profile }).profile
  }

  close(): void {
    this.#socket.close()
  }
}

/** Self time by function (name and place), largest first, as lines; the share of all sampled time. */
export function topSelfTime(profile: Profile, count = 25): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++)
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + (profile.timeDeltas[i] ?? 0))
  const byFunction = new Map<string, number>()
  let total = 0
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame
    const file = frame.url.split('/').pop() ?? ''
    const key = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + us)
    total += us
  }
  return [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([key, us]) =>
        `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`,
    )
}
