/**
 * The Entra ID stand-in (dev/entra/server.ts) in a process of its own, so that
 * its work (signing ID tokens, rendering the picker) does not share an event
 * loop with the bench's driver. Started by bench/signin.ts with fork(): it
 * receives the stand-in's options as its first IPC message and answers
 * `{ base }` once listening.
 */
import { type EntraStandInOptions, startEntraStandIn } from '../../dev/entra/server.ts'

process.once('message', async (options: EntraStandInOptions) => {
  const standIn = await startEntraStandIn(options)
  process.send?.({ base: standIn.base })
})
// The parent going away (even killed) ends this process too.
process.on('disconnect', () => process.exit(0))
