import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { serveStatic } from 'hono/bun'
import { allowedMethods } from '../middleware/allowed-methods.ts'
import { hostCheck } from '../middleware/host-check.ts'
import { htmxRequest } from '../middleware/htmx.ts'
import { requestLog } from '../middleware/request-log.ts'
import { requestShape } from '../middleware/request-shape.ts'
import { securityHeaders } from '../middleware/security-headers.ts'
import health from '../routes/health.ts'
import type { DashboardEnv } from './env.ts'
import { renderErrorPage } from './render.tsx'
import { STORAGE_RETRY_S, StorageNotAnswering } from '../db/read-pool.ts'

const PUBLIC_ROOT = new URL('../../public/', import.meta.url).pathname

/** What the log keeps of a thrown value: an Error's own fields are not enumerable, so a plain copy. */
function thrown(err: unknown) {
  return err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : { message: String(err) }
}

/**
 * What every server shares: deps on the context, request log, strict headers (on every answer,
 * refusals included), the Host check, the request's shape and method, static files and health
 * checks (open to all: each app's access rules come after them).
 */
export function baseApp<E extends DashboardEnv>(deps: E['Variables']['deps']) {
  const app = new Hono<E>()
  app.use(async (c, next) => {
    c.set('deps', deps)
    await next()
  })
  app.use(requestLog())
  app.use(securityHeaders())
  app.use(hostCheck({ host: deps.config.HOST, allowedHosts: deps.config.ALLOWED_HOSTS }))
  app.use(requestShape())
  app.use(allowedMethods(app))
  app.get('/public/*', serveStatic({ root: PUBLIC_ROOT, rewriteRequestPath: (p) => p.replace(/^\/public/, '') }))
  app.route('/health', health)
  app.route('/healthz', health)
  app.get('/readyz', (c) => {
    const readiness = deps.readiness()
    c.header('Cache-Control', 'no-store')
    return c.json(readiness, readiness.ok ? 200 : 503)
  })
  app.use(htmxRequest())
  app.notFound((c) => renderErrorPage(c, 404, 'Page not found', 'There is nothing at this address.'))
  app.onError((err, c) => {
    if (err instanceof HTTPException && err.status < 500) {
      return renderErrorPage(c, err.status, 'Request refused', err.message || 'The request could not be accepted.')
    }
    if (err instanceof StorageNotAnswering) {
      // a lock, a slow or frozen disk: the page says so and when to try again, the server goes on
      deps.log.warn('a read was not answered', { path: c.req.path, reason: err.message })
      c.header('Retry-After', String(STORAGE_RETRY_S))
      return renderErrorPage(c, 503, 'The database is not answering', `${err.message} Try again in a moment.`)
    }
    deps.log.error('unhandled error', { path: c.req.path, err: thrown(err) })
    return renderErrorPage(c, 500, 'Something went wrong', 'The server hit an error; it has been logged. Try again.')
  })
  return app
}
