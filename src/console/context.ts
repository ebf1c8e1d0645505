/** Console handlers are the app's handlers: the console's variables are part of `AppVariables` (`http/context.ts`). */
import type { Context } from 'hono'
import type { AppEnv } from '../http/context'

export type ConsoleEnv = AppEnv
export type ConsoleContext = Context<AppEnv>
