import type { Hono } from 'hono'
import type { ConsoleEnv } from '../context'

export function signInLogPages(_app: Hono<ConsoleEnv>): void {}
