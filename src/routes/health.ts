import { Hono } from 'hono'
import type { AppEnv } from '../http/env.ts'

const health = new Hono<AppEnv>()

/** Liveness for scripts and load balancers: answers while the server can serve. */
health.get('/', (c) => c.json({ ok: true }))

export default health
