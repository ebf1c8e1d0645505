import type { Hono } from 'hono'
import type { ConsoleEnv } from '../context'

export function phoneSystemPages(_app: Hono<ConsoleEnv>): void {}
