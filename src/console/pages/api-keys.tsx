import type { Hono } from 'hono'
import type { ConsoleEnv } from '../context'

export function apiKeyPages(_app: Hono<ConsoleEnv>): void {}
