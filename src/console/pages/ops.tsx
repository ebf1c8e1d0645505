import type { Hono } from 'hono'
import type { ConsoleEnv } from '../context'

export function opsPages(_app: Hono<ConsoleEnv>): void {}
