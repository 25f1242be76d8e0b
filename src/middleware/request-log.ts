import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../app.ts'
import { getLogger } from '../logger.ts'

const log = getLogger('http')

/** One log entry per request: method, path (never the query), status and time. */
export function requestLog() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now()
    await next()
    const ms = Math.round(performance.now() - started)
    if (c.req.path.startsWith('/public/')) return
    const entry = { method: c.req.method, path: c.req.path, status: c.res.status, ms }
    if (c.res.status >= 500) log.error('request failed', entry)
    else log.info('request', entry)
  })
}
