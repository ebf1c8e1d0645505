/**
 * `npm run test:mutation`: applies each curated mutation of the trust
 * boundary (`mutations.ts`) to a scratch copy of the repository, runs the
 * test files that should catch it, and reports it killed (with the test that
 * failed) or survived. The working tree is never touched: the scratch copies
 * live in a temporary directory and are deleted afterwards.
 *
 *   npm run test:mutation                  every mutation
 *   npm run test:mutation -- id-token/     only ids starting so
 *   npm run test:mutation -- --check       only check the list: each edit applies once and type-checks
 *   npm run test:mutation -- --jobs 1      how many mutations run at once (default 2)
 *
 * Exit code 1 when a mutation survives (or the tests fail without any).
 */
import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { MUTATIONS, type Mutation } from './mutations.ts'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '..', '..')

const args = process.argv.slice(2)
const check = args.includes('--check')
const jobsAt = args.indexOf('--jobs')
const jobs = jobsAt >= 0 ? Number(args[jobsAt + 1]) : 2
const filters = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--jobs')
const selected = MUTATIONS.filter((m) => filters.length === 0 || filters.some((f) => m.id.startsWith(f)))

/** The file's text with the mutation applied, from the copy in `dir` (the working tree may change meanwhile). */
function applied(mutation: Mutation, dir = root): string {
  const source = readFileSync(path.join(dir, mutation.file), 'utf8')
  const count = source.split(mutation.find).length - 1
  if (count !== 1) {
    throw new Error(
      `${mutation.id}: "${mutation.find.slice(0, 60)}" occurs ${count} times in ${mutation.file}, not once`,
    )
  }
  const mutated = source.replace(mutation.find, () => mutation.replace)
  if (mutated === source) throw new Error(`${mutation.id}: the edit changes nothing`)
  return mutated
}

/** A copy of the working tree (what git tracks or would track), sharing node_modules. */
async function scratchCopy(parent: string, name: string): Promise<string> {
  const dir = path.join(parent, name)
  mkdirSync(dir)
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  })
  for (const file of stdout.split('\0').filter(Boolean)) {
    try {
      cpSync(path.join(root, file), path.join(dir, file), { recursive: false })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error // deleted but not yet committed
    }
  }
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'))
  return dir
}

interface Outcome {
  mutation: Mutation
  killed: boolean
  by: string
  seconds: number
}

interface JsonReport {
  testResults: Array<{ name: string; assertionResults: Array<{ fullName: string; status: string }> }>
  numFailedTests: number
  numTotalTests: number
}

async function vitest(dir: string, files: string[], report: string): Promise<JsonReport> {
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' }
  try {
    await run(
      path.join(dir, 'node_modules', '.bin', 'vitest'),
      ['run', ...files, '--bail=1', '--reporter=json', `--outputFile=${report}`],
      { cwd: dir, env, maxBuffer: 256 * 1024 * 1024, timeout: 10 * 60 * 1000 },
    )
  } catch {
    // A failing run is the expected outcome of a killed mutation; the report says what failed.
  }
  try {
    return JSON.parse(readFileSync(report, 'utf8')) as JsonReport
  } catch {
    return { testResults: [], numFailedTests: 1, numTotalTests: 0 }
  }
}

function firstFailure(report: JsonReport): string {
  for (const file of report.testResults) {
    const failed = file.assertionResults.find((a) => a.status === 'failed')
    if (failed) return `${path.relative(root, file.name).replace(/^.*?test\//, 'test/')} > ${failed.fullName}`
  }
  return report.numTotalTests === 0
    ? 'the test run did not start (the mutant broke the module)'
    : '(no failed test named)'
}

async function typeChecks(dir: string, mutation: Mutation): Promise<boolean> {
  const target = path.join(dir, mutation.file)
  const original = readFileSync(target, 'utf8')
  writeFileSync(target, applied(mutation, dir))
  try {
    // Incremental: after the first check, tsc re-checks only the mutated file and what imports it.
    await run(
      path.join(dir, 'node_modules', '.bin', 'tsc'),
      ['--noEmit', '-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', path.join(dir, '.tsbuildinfo')],
      { cwd: dir },
    )
    console.log(`ok    ${mutation.id}`)
    return true
  } catch (error) {
    const output = (error as { stdout?: string }).stdout ?? String(error)
    console.error(`FAIL  ${mutation.id} does not type-check:\n${output}`)
    return false
  } finally {
    writeFileSync(target, original)
  }
}

async function main(): Promise<void> {
  // Fail fast on a stale list: every edit applies once, every named test file exists.
  for (const mutation of selected) {
    applied(mutation)
    for (const file of mutation.tests) {
      if (!existsSync(path.join(root, file))) throw new Error(`${mutation.id}: no test file ${file}`)
    }
  }
  const parent = mkdtempSync(path.join(tmpdir(), 'sso-mutation-'))
  const started = performance.now()
  try {
    if (check) {
      const dir = await scratchCopy(parent, 'check')
      let failures = 0
      for (const mutation of selected) if (!(await typeChecks(dir, mutation))) failures++
      console.log(`${selected.length - failures} of ${selected.length} mutations apply once each and type-check`)
      if (failures > 0) process.exitCode = 1
      return
    }
    const dirs = await Promise.all(
      Array.from({ length: Math.max(1, jobs) }, (_, i) => scratchCopy(parent, `copy-${i}`)),
    )

    // Baseline: every test file the list names must pass unmutated, or a "kill" would mean nothing.
    const files = [...new Set(selected.flatMap((m) => m.tests))]
    const baseline = await vitest(dirs[0]!, files, path.join(parent, 'baseline.json'))
    if (baseline.numFailedTests > 0 || baseline.numTotalTests === 0) {
      console.error(`The tests fail without any mutation: ${firstFailure(baseline)}`)
      process.exitCode = 1
      return
    }
    console.log(`baseline: ${baseline.numTotalTests} tests in ${files.length} files pass unmutated`)

    const queue = [...selected]
    const outcomes: Outcome[] = []
    await Promise.all(
      dirs.map(async (dir, slot) => {
        for (let mutation = queue.shift(); mutation; mutation = queue.shift()) {
          const target = path.join(dir, mutation.file)
          const original = readFileSync(target, 'utf8')
          writeFileSync(target, applied(mutation, dir))
          const t0 = performance.now()
          const report = await vitest(dir, mutation.tests, path.join(parent, `report-${slot}.json`))
          writeFileSync(target, original)
          const killed = report.numFailedTests > 0 || report.numTotalTests === 0
          const outcome = {
            mutation,
            killed,
            by: killed ? firstFailure(report) : '',
            seconds: (performance.now() - t0) / 1000,
          }
          outcomes.push(outcome)
          console.log(
            `${killed ? 'killed  ' : 'SURVIVED'} ${mutation.id} (${outcome.seconds.toFixed(0)} s)${killed ? ` by ${outcome.by}` : ''}`,
          )
        }
      }),
    )

    outcomes.sort((a, b) => MUTATIONS.indexOf(a.mutation) - MUTATIONS.indexOf(b.mutation))
    const survived = outcomes.filter((o) => !o.killed)
    console.log('\n| mutation | what it would let through | result | killed by |')
    console.log('|---|---|---|---|')
    for (const o of outcomes) {
      console.log(`| \`${o.mutation.id}\` | ${o.mutation.why} | ${o.killed ? 'killed' : '**survived**'} | ${o.by} |`)
    }
    const minutes = (performance.now() - started) / 60_000
    console.log(
      `\n${outcomes.length - survived.length} of ${outcomes.length} mutations killed, ${survived.length} survived, in ${minutes.toFixed(1)} min (${jobs} at a time)`,
    )
    if (survived.length > 0) process.exitCode = 1
  } finally {
    rmSync(parent, { recursive: true, force: true })
  }
}

await main()
