import type { Hono } from 'hono'
import type { ConsoleEnv } from '../context'

export function staffPages(_app: Hono<ConsoleEnv>): void {}
