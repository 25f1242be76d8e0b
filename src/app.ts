import { Hono } from 'hono'
import { csrf } from 'hono/csrf'
import { HTTPException } from 'hono/http-exception'
import { serveStatic } from 'hono/bun'
import type { Config } from './config.ts'
import type { Log } from './logger.ts'
import type { Replies } from './services/chat/index.ts'
import type { Conversations } from './services/chat/index.ts'
import type { MetricsQueries } from './services/metrics/index.ts'
import type { Dashboard } from './services/dashboard/index.ts'
import type { Session, Sessions } from './services/chat/index.ts'
import { hostCheck } from './middleware/host-check.ts'
import { htmxRequest } from './middleware/htmx.ts'
import { requestLog } from './middleware/request-log.ts'
import { securityHeaders } from './middleware/security-headers.ts'
import { session } from './middleware/session.ts'
import chat from './routes/chat.tsx'
import conversations from './routes/conversations.tsx'
import credentials from './routes/credentials.tsx'
import dashboard from './routes/dashboard.tsx'
import health from './routes/health.ts'
import prometheus from './routes/prometheus.ts'
import { renderErrorPage } from './http/render.tsx'

/** Everything the routes use, wired once by src/index.ts (or a test's makeApp). */
export type Deps = {
  config: Config
  sessions: Sessions
  replies: Replies
  conversations: Conversations
  log: Log
  /** The dashboard's queries; throws with a readable reason when the database is unavailable. */
  metricsQueries: () => MetricsQueries
  dashboard: Dashboard
  /** Where the chat lives, for the dashboard's link back (absent in the standalone dashboard). */
  chatUrl?: string
}

/** What the standalone dashboard process has: no chat, no sessions. */
export type DashboardDeps = Pick<Deps, 'config' | 'log' | 'metricsQueries' | 'dashboard' | 'chatUrl'>

export type AppEnv = {
  Variables: { deps: Deps; session: Session; partial: boolean }
}

export type DashboardEnv = {
  Variables: { deps: DashboardDeps; partial: boolean }
}

const PUBLIC_ROOT = new URL('../public/', import.meta.url).pathname

/** What every server shares: deps on the context, request log, strict headers, static files, health. */
function baseApp<E extends { Variables: { deps: DashboardDeps; partial: boolean } }>(deps: E['Variables']['deps']) {
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
  app.route('/metrics', prometheus)
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

/** Builds the app: middleware order, sub-apps, error pages. No I/O of its own. */
export function createApp(deps: Deps) {
  const app = baseApp<AppEnv>(deps)
  app.use(csrf())
  app.use(session())
  app.route('/', chat)
  app.route('/', conversations)
  app.route('/credentials', credentials)
  app.route('/dashboard', dashboard)
  return app
}

/** The dashboard as its own server (`bun run dashboard`): the dashboard, /metrics and health. */
export function createDashboardApp(deps: DashboardDeps) {
  const app = baseApp<DashboardEnv>(deps)
  app.get('/', (c) => c.redirect('/dashboard', 302))
  app.route('/dashboard', dashboard)
  return app
}

export type App = ReturnType<typeof createApp> | ReturnType<typeof createDashboardApp>
