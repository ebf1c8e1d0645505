/**
 * The gateway's own configuration rules (src/config.ts), loaded into Node so
 * `npm run preflight` validates a deploy environment's vars by exactly the
 * code the Worker runs. src/ is written for the bundler (imports without an
 * extension, TypeScript beyond what Node strips), so two loader hooks, for
 * files under src/ only: extensionless relative imports resolve to `.ts`, and
 * the source is transformed with Node's own `stripTypeScriptTypes`.
 */
import { readFileSync } from 'node:fs'
import { registerHooks, stripTypeScriptTypes } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const src = `${pathToFileURL(path.resolve(import.meta.dirname, '..', '..', 'src')).href}/`

let registered = false
function registerSrcHooks(): void {
  if (registered) return
  registered = true
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (context.parentURL?.startsWith(src) && /^\.\.?\//.test(specifier) && !/\.[cm]?[jt]sx?$/.test(specifier)) {
        for (const suffix of ['.ts', '/index.ts']) {
          try {
            return nextResolve(`${specifier}${suffix}`, context)
          } catch {
            // the next candidate
          }
        }
      }
      return nextResolve(specifier, context)
    },
    load(url, context, nextLoad) {
      if (!url.startsWith(src) || !url.endsWith('.ts')) return nextLoad(url, context)
      const source = stripTypeScriptTypes(readFileSync(fileURLToPath(url), 'utf8'), { mode: 'transform' })
      return { format: 'module', source, shortCircuit: true }
    },
  })
}

/** `configProblems` of src/config.ts (typed here: tsconfig.node.json does not compile src/). */
export type ConfigProblems = (
  env: Record<string, string>,
  options: { deployed: boolean; scope?: 'whole' | 'sign-in' },
) => string[]

export async function loadConfigProblems(): Promise<ConfigProblems> {
  registerSrcHooks()
  const module = (await import(`${src}config.ts`)) as { configProblems: ConfigProblems }
  return module.configProblems
}
