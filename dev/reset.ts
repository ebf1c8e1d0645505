/** `npm run dev:reset`: forget the local D1 database (the next `npm start` re-seeds it). */
import { rmSync } from 'node:fs'
import path from 'node:path'

const state = path.resolve(import.meta.dirname, '..', '.wrangler', 'state')
rmSync(state, { recursive: true, force: true })
console.log(`Removed ${state}`)
