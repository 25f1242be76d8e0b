import type { Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import { renderErrorPage } from '../http/render.tsx'

/** Hono's method for middleware (`app.use`): not a route of its own. */
const MIDDLEWARE = 'ALL'

type Routable = Pick<Hono, 'router' | 'routes'>

/**
 * Answers 405, with an `Allow` header and a page that says so, when the path is a route but not
 * for this method (PUT or DELETE anywhere, GET on a form's address); a path that is no route at
 * all goes on to the 404 page. Asks the app's own router, so it can never disagree with the
 * routes: it runs first, before any check that would answer something else for a request no
 * route takes. HEAD goes where GET goes, as Hono serves it.
 */
export function allowedMethods(app: Routable) {
  let methods: string[] | undefined
  const routed = (method: string, path: string) => app.router.match(method, path)[0].some(([[, route]]) => route.method !== MIDDLEWARE)
  return createMiddleware(async (c, next) => {
    // read at the first request, once every route is on the app
    methods ??= [...new Set(app.routes.map((r) => r.method).filter((m) => m !== MIDDLEWARE))]
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method
    const path = c.req.path
    if (methods.includes(method) && routed(method, path)) return next()
    const allowed = methods.filter((m) => routed(m, path))
    if (allowed.length === 0) return next()
    if (allowed.includes('GET')) allowed.splice(allowed.indexOf('GET') + 1, 0, 'HEAD')
    c.header('Allow', allowed.join(', '))
    const detail =
      method === 'GET' && !allowed.includes('GET')
        ? 'This is where a form of the page is sent, not a page to open.'
        : `This address takes ${allowed.join(' or ')} requests, not ${c.req.method}.`
    return renderErrorPage(c, 405, 'Not available this way', detail)
  })
}
