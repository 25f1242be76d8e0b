import { Hono } from 'hono'
import { csrf } from 'hono/csrf'
import { HTTPException } from 'hono/http-exception'
import { serveStatic } from 'hono/bun'
import type { Config } from './config.ts'
import type { Log } from './logger.ts'
import type { ChatTurns } from './services/chat-turn.ts'
import type { Metrics } from './services/metrics.ts'
import type { Session, Sessions } from './services/sessions.ts'
import { htmxRequest } from './middleware/htmx.ts'
import { requestLog } from './middleware/request-log.ts'
import { securityHeaders } from './middleware/security-headers.ts'
import { session } from './middleware/session.ts'
import chat from './routes/chat.tsx'
import credentials from './routes/credentials.tsx'
import health from './routes/health.ts'
import { renderErrorPage } from './routes/render.tsx'

/** Everything the routes use, wired once by src/index.ts (or a test's makeApp). */
export type Deps = {
  config: Config
  sessions: Sessions
  turns: ChatTurns
  metrics: Metrics
  log: Log
  /** Lifts Bun's idle timeout for one long request (a streamed reply); absent outside Bun.serve. */
  keepOpen?: (request: Request) => void
}

export type AppEnv = {
  Variables: { deps: Deps; session: Session; partial: boolean }
}

const PUBLIC_ROOT = new URL('../public/', import.meta.url).pathname

/** Builds the app: middleware order, sub-apps, error pages. No I/O of its own. */
export function createApp(deps: Deps) {
  const app = new Hono<AppEnv>()

  app.use(async (c, next) => {
    c.set('deps', deps)
    await next()
  })
  app.use(requestLog())
  app.use(securityHeaders())
  app.use('/public/*', serveStatic({ root: PUBLIC_ROOT, rewriteRequestPath: (p) => p.replace(/^\/public/, '') }))
  app.route('/health', health)
  app.use(csrf())
  app.use(htmxRequest())
  app.use(session())
  app.route('/', chat)
  app.route('/credentials', credentials)

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

export type App = ReturnType<typeof createApp>
