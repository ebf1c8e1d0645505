/**
 * The repository stands alone: no file points at the folder beside it that
 * held the design notes (a clone has no such folder), and every `ARCHITECTURE §N` or `§N.M` a comment cites is a
 * section (`## N.`) or a numbered step (`M.` under `## N.`) of
 * docs/ARCHITECTURE.md. Run by `npm run lint`.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Built from parts, so this file does not point there itself. */
const OUTSIDE = ['..', 'shared'].join('/')

const architecture = readFileSync('docs/ARCHITECTURE.md', 'utf8')
const sections = new Set<string>()
let current = ''
for (const line of architecture.split('\n')) {
  const heading = /^## (\d+)\./.exec(line)
  if (heading) {
    current = heading[1]!
    sections.add(current)
    continue
  }
  const step = /^(\d+)\. /.exec(line)
  if (step && current) sections.add(`${current}.${step[1]}`)
}

const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
  encoding: 'utf8',
})
  .split('\0')
  .filter((file) => /\.(ts|tsx|md|toml|json|sh)$/.test(file) || file === '.ci/run')
  .filter((file) => !file.startsWith('migrations/meta/'))

const problems: string[] = []
for (const file of files) {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    continue
  }
  if (text.includes(OUTSIDE)) problems.push(`${file}: points at ${OUTSIDE}, which a clone does not have`)
  for (const match of text.matchAll(/ARCHITECTURE\s+(?:\*\s+)?§(\d+(?:\.\d+)?)/g)) {
    if (!sections.has(match[1]!))
      problems.push(`${file}: cites ARCHITECTURE §${match[1]}, which docs/ARCHITECTURE.md lacks`)
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'))
  process.exit(1)
}
console.log(`docs: ${files.length} files point nowhere outside the repository; every ARCHITECTURE section cited exists`)
