import { createMiddleware } from 'hono/factory'
import { secureHeaders } from 'hono/secure-headers'

const policy = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  // htmx 4 adds its indicator styles as a constructed stylesheet, which CSP allows
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  frameAncestors: ["'none'"],
  formAction: ["'self'"],
  baseUri: ["'none'"],
  objectSrc: ["'none'"],
}

// overwrite: false keeps a stricter policy a handler set itself (served attachments: a sandbox)
const common = { referrerPolicy: 'same-origin', crossOriginEmbedderPolicy: false, strictTransportSecurity: false, overwrite: false } as const

const strict = secureHeaders({ ...common, contentSecurityPolicy: policy })
// Chartist sizes its SVG with style attributes: the dashboard allows those (never <style>
// elements, never inline script). Everything it shows is escaped text.
const charts = secureHeaders({ ...common, contentSecurityPolicy: { ...policy, styleSrcAttr: ["'unsafe-inline'"] } })

/**
 * Strict headers for every response: scripts only from this origin (no inline script, so model
 * output can never run), no framing, no referrer leaks. No HSTS: the app is usually plain http on
 * loopback, where that header would only mislead.
 */
export function securityHeaders() {
  return createMiddleware((c, next) => (c.req.path.startsWith('/dashboard') ? charts(c, next) : strict(c, next)))
}
