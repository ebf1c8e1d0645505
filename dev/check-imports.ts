/**
 * `npm run lint` part two: no import cycle in src/, between files or between
 * folders. A folder of src/ is one node (`signin/`, `hostnames/`, ...); a file
 * at the top of src/ is a node of its own (`config.ts`, `errors.ts`). Type-only
 * imports count too: a cycle of types is still two modules that cannot be read
 * apart. Imports are read with TypeScript's own pre-processor, so what counts
 * as an import is what the compiler sees.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'

const root = path.resolve(import.meta.dirname, '..', 'src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name)
    if (statSync(full).isDirectory()) return sourceFiles(full)
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [full] : []
  })
}

function resolveImport(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null
  const base = path.resolve(path.dirname(from), specifier)
  for (const candidate of [
    base,
    `${base}.ts`,
    `${base}.tsx`,
    path.join(base, 'index.ts'),
    path.join(base, 'index.tsx'),
  ]) {
    try {
      if (statSync(candidate).isFile()) return candidate
    } catch {
      // next candidate
    }
  }
  throw new Error(`${path.relative(root, from)} imports "${specifier}", which does not exist`)
}

/** The folder node of a file: `signin` for src/signin/flow.ts, `config.ts` for src/config.ts. */
function nodeOf(file: string): string {
  const [first] = path.relative(root, file).split(path.sep)
  return first!
}

/** Strongly connected components with more than one member (or a self-loop): the cycles. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0
  const indices = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string) => {
    indices.set(v, index)
    low.set(v, index)
    index++
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indices.get(w)!))
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || graph.get(v)?.has(v)) found.push(component.sort())
    }
  }
  for (const v of graph.keys()) if (!indices.has(v)) visit(v)
  return found
}

/** One path around a cycle, for the message: a -> b -> a. */
function loopThrough(graph: Map<string, Set<string>>, members: string[]): string {
  const inCycle = new Set(members)
  const start = members[0]!
  const previous = new Map<string, string>()
  const queue = [start]
  while (queue.length > 0) {
    const v = queue.shift()!
    for (const w of graph.get(v) ?? []) {
      if (!inCycle.has(w)) continue
      if (w === start) {
        const pathBack = [v]
        while (pathBack[0] !== start) pathBack.unshift(previous.get(pathBack[0]!)!)
        return [...pathBack, start].join(' -> ')
      }
      if (!previous.has(w)) {
        previous.set(w, v)
        queue.push(w)
      }
    }
  }
  return members.join(', ')
}

const files = new Map<string, Set<string>>()
const folders = new Map<string, Set<string>>()
for (const file of sourceFiles(root)) {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  const fileEdges = new Set<string>()
  const from = nodeOf(file)
  if (!folders.has(from)) folders.set(from, new Set())
  for (const { fileName } of importedFiles) {
    const target = resolveImport(file, fileName)
    if (target === null) continue
    fileEdges.add(path.relative(root, target))
    const to = nodeOf(target)
    if (to !== from) folders.get(from)!.add(to)
  }
  files.set(path.relative(root, file), fileEdges)
}

const problems = [
  ...cycles(files).map((c) => `files ${c.join(', ')}, e.g. ${loopThrough(files, c)}`),
  ...cycles(folders).map((c) => `folders ${c.join(', ')}, e.g. ${loopThrough(folders, c)}`),
]
if (problems.length > 0) {
  console.error(`Import cycles in src/ (each module must be readable without the ones that import it):`)
  for (const problem of problems) console.error(`  ${problem}`)
  process.exit(1)
}
console.log(`no import cycles in src/ (${files.size} files, ${folders.size} folders and top-level files)`)
