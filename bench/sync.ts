/**
 * `npm run bench:sync`: syncs a phone system of 50,000 users (BENCH_SYNC_USERS)
 * from the Microsoft Graph stand-in into D1, through the deployable bundle
 * under one workerd (dev/workerd.ts), and prints for each run the wall time,
 * Graph requests, D1 statements, and workerd's memory (peak RSS) before and
 * after. Four runs: the first sync (all new: a full pull, delta links
 * taken), a repeat (nothing changed: a delta sync), one after 10% of the
 * users were renamed (a realistic day: a delta sync), and one after Graph
 * expired the delta links (a full pull again, by itself). Then the JS heap
 * of the sync's in-memory half (bench/heap-probe.ts).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { startEntraStandIn } from '../dev/entra/server.ts'
import { startGraphDirectoryStandIn } from '../dev/graph/directory.ts'
import { buildBundle, CLIENT_ID, CLIENT_SECRET, startWorkerd, TENANT_ID } from '../dev/workerd.ts'

const USERS = Number(process.env.BENCH_SYNC_USERS ?? 50_000)
const root = path.resolve(import.meta.dirname, '..')
const outDir = path.resolve(import.meta.dirname, 'out-sync')

function workerdMemory(): { rssMb: number; peakMb: number } {
  // The newest workerd process is the one this script started.
  const pid = execFileSync('pgrep', ['-n', 'workerd']).toString().trim()
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 }
}

const entra = await startEntraStandIn({
  apps: [
    {
      clientId: CLIENT_ID,
      secret: CLIENT_SECRET,
      redirectUris: [],
      grants: { [TENANT_ID]: ['Application.Read.All', 'User.Read.All', 'GroupMember.Read.All'] },
    },
  ],
})
const graph = await startGraphDirectoryStandIn(entra)
const directory = graph.directory(TENANT_ID)
const groupId = '9a9a9a9a-0000-4000-8000-000000000001'
const ids: string[] = []
for (let i = 0; i < USERS; i++) {
  const id = `${i.toString(16).padStart(8, '0')}-1111-4111-8111-111111111111`
  ids.push(id)
  directory.users.set(id, {
    id,
    userPrincipalName: `firstname.lastname${i}@contoso-corporation.example`,
    mail: `firstname.lastname${i}@contoso-corporation.example`,
    displayName: `Firstname Lastname ${i}`,
    accountEnabled: i % 97 !== 0,
  })
}
directory.groups.set(groupId, { id: groupId, displayName: 'Phone users', members: ids })
directory.servicePrincipals.set(CLIENT_ID, {
  id: '8b8b8b8b-0000-4000-8000-000000000001',
  assignments: [{ principalId: groupId, principalType: 'Group' }],
})

buildBundle(outDir)
const { mf, admin, phoneSystemId } = await startWorkerd(outDir, '', {
  ENTRA_AUTHORITY: entra.base,
  GRAPH_BASE: graph.base,
})

interface Row {
  run: string
  mode: string
  seconds: number
  added: number
  removed: number
  updated: number
  unchanged: number
  graphRequests: number
  d1Statements: number
  rssMb: number
  peakMb: number
}
const rows: Row[] = []
const baseline = workerdMemory()

async function run(label: string) {
  const started = performance.now()
  const outcome = await admin('POST', `/phone-systems/${phoneSystemId}/sync`)
  const seconds = (performance.now() - started) / 1000
  rows.push({ run: label, seconds, ...outcome, ...workerdMemory() })
}

try {
  await run(`first sync (${USERS.toLocaleString('en')} users)`)
  await run('repeat (nothing changed)')
  for (let i = 0; i < USERS; i += 10) {
    const user = directory.users.get(ids[i]!)!
    // Through the stand-in, so users/delta reports it as Graph would.
    graph.updateUser(TENANT_ID, user.id, { displayName: `${user.displayName} (renamed)` })
  }
  await run('after 10% renamed')
  directory.changes.expiredBefore = Date.now() + 1
  await run('expired delta link')
} finally {
  await mf.dispose()
  await graph.close()
  await entra.close()
}

const pad = (s: string | number, n: number) => String(s).padStart(n)
console.log(`\nSync of one phone system from the Graph stand-in, through the deployable bundle under one workerd`)
console.log(
  `workerd before the first sync: RSS ${baseline.rssMb.toFixed(0)} MB (peak ${baseline.peakMb.toFixed(0)} MB)\n`,
)
console.log(
  `${'run'.padEnd(30)}${'mode'.padEnd(6)}${pad('seconds', 9)}${pad('added', 8)}${pad('removed', 8)}${pad('updated', 8)}${pad('same', 8)}${pad('Graph req', 10)}${pad('D1 stmts', 9)}${pad('RSS MB', 8)}${pad('peak MB', 9)}`,
)
for (const r of rows) {
  console.log(
    `${r.run.padEnd(30)}${r.mode.padEnd(6)}${pad(r.seconds.toFixed(2), 9)}${pad(r.added, 8)}${pad(r.removed, 8)}${pad(r.updated, 8)}${pad(r.unchanged, 8)}${pad(r.graphRequests, 10)}${pad(r.d1Statements, 9)}${pad(r.rssMb.toFixed(0), 8)}${pad(r.peakMb.toFixed(0), 9)}`,
  )
}
// The Worker's own share: the in-memory half of a sync, measured on the same code in Node.
execFileSync(
  path.join(root, 'node_modules', '.bin', 'esbuild'),
  ['bench/heap-probe.ts', '--bundle', '--platform=node', '--format=esm', `--outfile=${outDir}/heap-probe.mjs`],
  { cwd: root, stdio: 'ignore' },
)
const heap = JSON.parse(
  execFileSync(process.execPath, ['--expose-gc', `${outDir}/heap-probe.mjs`], {
    env: { ...process.env, BENCH_SYNC_USERS: String(USERS) },
  }).toString(),
) as { peakHeapMb: number; chunks: number }
console.log(
  `\nJS heap of the in-memory half of a ${USERS.toLocaleString('en')}-user sync with 10% renamed (stored list, pulled list, plan, ${heap.chunks} JSON chunks): ${heap.peakHeapMb} MB peak (an isolate may use 128 MB)`,
)
console.log(
  `\nLimits per invocation: 1,000 D1 queries, 1,000 subrequests, 100 bound parameters per statement (every statement binds at most 4).`,
)
