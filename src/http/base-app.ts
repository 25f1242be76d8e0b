import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { serveStatic } from 'hono/bun'
import { hostCheck } from '../middleware/host-check.ts'
import { htmxRequest } from '../middleware/htmx.ts'
import { requestLog } from '../middleware/request-log.ts'
import { securityHeaders } from '../middleware/security-headers.ts'
import health from '../routes/health.ts'
import type { DashboardEnv } from './env.ts'
import { renderErrorPage } from './render.tsx'

const PUBLIC_ROOT = new URL('../../public/', import.meta.url).pathname

/**
 * What every server shares: deps on the context, request log, the Host check, strict headers,
 * static files and health checks (open to all: each app's access rules come after them).
 */
export function baseApp<E extends DashboardEnv>(deps: E['Variables']['deps']) {
  const app = new Hono<E>()
  app.use(async (c, next) => {
    c.set('deps', deps)
    await next()
  })
  app.use(requestLog())
  app.use(hostCheck({ host: deps.config.HOST, allowedHosts: deps.config.ALLOWED_HOSTS }))
  app.use(securityHeaders())
  app.use('/public/*', serveStatic({ root: PUBLIC_ROOT, rewriteRequestPath: (p) => p.replace(/^\/public/, '') }))
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
      const detail = err.status === 403 ? 'This form was posted from another site, so it was refused.' : err.message
      return renderErrorPage(c, err.status, 'Request refused', detail || 'The request could not be accepted.')
    }
    deps.log.error('unhandled error', { path: c.req.path, err })
    return renderErrorPage(c, 500, 'Something went wrong', 'The server hit an error; it has been logged. Try again.')
  })
  return app
}
