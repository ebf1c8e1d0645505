import * as z from 'zod/mini'
import { idParam } from '../lib/fields'

/** Path parameters shared by the routes: an id, or a hostname as typed (the hostnames service normalizes it). */
export const byId = z.object({ id: idParam })
export const byHostname = z.object({
  hostname: z.string().check(z.maxLength(1024, 'must be at most 1024 characters')),
})

export const SUBTREE = 'ops or partner (own subtree)' as const
