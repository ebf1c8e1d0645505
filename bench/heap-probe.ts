/**
 * Heap of the in-memory half of a 50,000-user sync, measured in Node with the
 * gateway's own code (bundled by esbuild): the stored list as read from D1,
 * the pulled list as parsed from Graph's JSON pages, the replace plan, and the
 * JSON chunks bound to D1. Printed as MB above the heap before it started.
 * (Workers give an isolate 128 MB; workerd's process RSS also holds the
 * local D1's SQLite, so it overstates what the Worker itself uses.)
 */
import { planReplace } from '../src/sso/plan'
import { jsonChunks } from '../src/sso/store'

declare const gc: () => void

const USERS = Number(process.env.BENCH_SYNC_USERS ?? 50_000)
let peak = 0
function sample(): void {
  gc()
  peak = Math.max(peak, process.memoryUsage().heapUsed)
}

gc()
const before = process.memoryUsage().heapUsed
const existing = Array.from({ length: USERS }, (_, i) => ({
  id: `usr_${String(i).padStart(20, '0')}`,
  oid: `${i.toString(16).padStart(8, '0')}-1111-4111-8111-111111111111`,
  upn: `firstname.lastname${i}@contoso-corporation.example`,
  email: `firstname.lastname${i}@contoso-corporation.example`,
  displayName: `Firstname Lastname ${i}`,
  extension: String(1000 + i),
  createdAt: 1,
}))
sample()
// Graph pages arrive as JSON text and are parsed one at a time; the users are kept.
const pulled = []
for (let start = 0; start < USERS; start += 999) {
  const page = JSON.stringify({
    value: Array.from({ length: Math.min(999, USERS - start) }, (_, k) => {
      const i = start + k
      return {
        id: `${i.toString(16).padStart(8, '0')}-1111-4111-8111-111111111111`,
        userPrincipalName: `firstname.lastname${i}@contoso-corporation.example`,
        mail: `firstname.lastname${i}@contoso-corporation.example`,
        displayName: `Firstname Lastname ${i}${i % 10 === 0 ? ' (renamed)' : ''}`,
        accountEnabled: true,
      }
    }),
  })
  for (const u of JSON.parse(page).value) {
    pulled.push({
      oid: u.id,
      upn: u.userPrincipalName.toLowerCase(),
      email: u.mail.toLowerCase(),
      displayName: u.displayName,
      extension: null,
    })
  }
}
sample()
let n = 0
const plan = planReplace(existing, pulled, () => `usr_new${++n}`, 2, { keepStoredExtension: true })
sample()
const chunks = [...jsonChunks(plan.deleteIds), ...jsonChunks(plan.insertRows)]
sample()
console.log(
  JSON.stringify({
    users: USERS,
    updated: plan.counts.updated,
    chunks: chunks.length,
    peakHeapMb: Math.round(((peak - before) / 1024 / 1024) * 10) / 10,
  }),
)
