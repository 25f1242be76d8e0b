import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context } from 'hono'
import { getConnInfo } from 'hono/bun'
import { createMiddleware } from 'hono/factory'
import type { AppEnv, DashboardEnv } from '../http/env.ts'
import { renderErrorPage } from '../http/render.tsx'
import type { Access } from '../services/access.ts'

/** What a visitor reaches without signing in: the sign-in page itself. Static files and health checks are served before this runs. */
const OPEN_PATHS = new Set(['/signin'])

/** The client's address as the server saw it (undefined where there is no socket, as in app.request). */
export function clientAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address
  } catch {
    return undefined
  }
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest()

/** `Authorization: Bearer <METRICS_TOKEN>` on /metrics, compared in constant time. */
function metricsTokenOk(c: Context, token: string | undefined): boolean {
  if (!token || c.req.path !== '/metrics') return false
  const given = c.req.header('Authorization')?.match(/^Bearer\s+(\S+)$/i)?.[1]
  return given !== undefined && timingSafeEqual(digest(given), digest(token))
}

/** A visitor who has not signed in: the sign-in page for a person, a plain 401 for htmx, streams and scrapers. */
function refuse(c: Context, access: Access) {
  const path = c.req.path
  const person = c.req.header('HX-Request') !== 'true' && !c.req.header('Accept')?.includes('text/event-stream') && path !== '/metrics'
  if (access.passwordOn) {
    // a page (or a form posted without JavaScript) goes to the sign-in page, and back after it
    const next = c.req.method === 'GET' ? path + new URL(c.req.url).search : '/'
    if (person) return c.redirect(`/signin?next=${encodeURIComponent(next)}`, 303)
    if (c.req.header('HX-Request') === 'true') c.header('HX-Redirect', '/signin')
    return c.text('Sign in first: this server needs a password.', 401)
  }
  return renderErrorPage(
    c,
    401,
    'Sign in through your single sign-on',
    'This server answers only to users its sign-in proxy names. Open it through that proxy.',
  )
}

/**
 * With APP_PASSWORD or AUTH_PROXY_HEADER set, everything (every page, form, stream, the CSV and
 * /metrics) needs a signed-in session, except the sign-in page. A trusted proxy's user is
 * signed in on the spot (the session renewed when the user changes); a scraper may read /metrics
 * with METRICS_TOKEN instead.
 */
export function requireSignIn(access: Access, metricsToken: string | undefined) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (!access.required || OPEN_PATHS.has(c.req.path)) return next()
    if (metricsTokenOk(c, metricsToken)) return next()
    const { session, deps } = c.var
    const user = access.proxyUser(clientAddress(c), access.proxyHeader && c.req.header(access.proxyHeader))
    if (user !== undefined) {
      if (!session.signedIn || session.user !== user) await c.var.keepSession(deps.sessions.signIn(session, user))
      return next()
    }
    // a proxy's user is signed in only while the proxy says so; a password sign-in lasts the session
    if (access.passwordOn && session.signedIn && session.user === undefined) return next()
    return refuse(c, access)
  })
}

/**
 * The standalone dashboard has no sessions and so no sign-in page: with AUTH_PROXY_HEADER it
 * answers a trusted proxy's users (and METRICS_TOKEN on /metrics), and nobody else.
 */
export function requireProxyUser(access: Access, metricsToken: string | undefined) {
  return createMiddleware<DashboardEnv>(async (c, next) => {
    if (!access.required) return next()
    if (metricsTokenOk(c, metricsToken)) return next()
    if (access.proxyUser(clientAddress(c), access.proxyHeader && c.req.header(access.proxyHeader)) !== undefined) return next()
    return refuse(c, access)
  })
}
