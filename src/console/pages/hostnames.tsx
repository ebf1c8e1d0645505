import type { Hono } from 'hono'
import type { ConsoleEnv } from '../context'

export function hostnamePages(_app: Hono<ConsoleEnv>): void {}
