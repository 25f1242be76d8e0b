import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { renderErrorPage } from '../http/render.tsx'

/** Methods that only read. Every other method may change something, so it must come from this site. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** Whether the browser says the request comes from this site's own pages. */
function fromThisSite(c: Context): boolean {
  if (c.req.header('Sec-Fetch-Site') === 'same-origin') return true
  const origin = c.req.header('Origin')
  return origin !== undefined && origin === new URL(c.req.url).origin
}

/**
 * Refuses (403) any request that may change something unless it comes from this site's own pages:
 * `Sec-Fetch-Site: same-origin`, or an `Origin` that is this server's, whatever the content type.
 * hono/csrf, used before, checks only form-like and text/plain bodies and lets a JSON post from
 * another site through; this checks every one. A request with neither header (not a browser's)
 * is refused too. SameSite=Lax on the cookie is a second, separate line.
 */
export function sameOrigin() {
  return createMiddleware(async (c, next) => {
    if (SAFE_METHODS.has(c.req.method) || fromThisSite(c)) return next()
    return renderErrorPage(c, 403, 'Request refused', 'This form was not sent from this site’s own pages, so it was refused.')
  })
}
