import type { Hono } from 'hono'
import type { ConsoleEnv } from '../context'

export function auditPages(_app: Hono<ConsoleEnv>): void {}
