import { createMiddleware } from 'hono/factory'
import { getLogger } from '../logger.ts'

const log = getLogger('http')

/**
 * The dashboard's own refreshes and Prometheus scrapes: logged at debug, or a dashboard watching
 * the log would see its own requests appear every second.
 */
const QUIET = /^\/(dashboard\/(stream|invocations)|metrics|health|healthz|readyz)\b/

/** One log entry per request: method, path (never the query), status and time. */
export function requestLog() {
  return createMiddleware(async (c, next) => {
    const started = performance.now()
    await next()
    const ms = Math.round(performance.now() - started)
    if (c.req.path.startsWith('/public/')) return
    const entry = { method: c.req.method, path: c.req.path, status: c.res.status, ms }
    // a probe answering 503 reports a fault that /readyz already names; it is not a failed request
    if (c.res.status >= 500 && !QUIET.test(c.req.path)) log.error('request failed', entry)
    else if (QUIET.test(c.req.path) && c.res.status < 400) log.debug('request', entry)
    else log.info('request', entry)
  })
}
