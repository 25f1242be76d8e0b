import { createMiddleware } from 'hono/factory'

const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]', '::1']

/**
 * Answers only to the names this server is meant to be reached by. A web page the person visits
 * could otherwise point its own domain at 127.0.0.1 (DNS rebinding) and, being "same origin"
 * with itself, chat with the server's credentials or read the dashboard. Bound to loopback (the
 * default), only loopback names and ALLOWED_HOSTS are served; bound elsewhere on purpose with no
 * ALLOWED_HOSTS, any name is.
 */
export function hostCheck(options: { host: string; allowedHosts: string[] }) {
  const allowed = new Set([...LOOPBACK, ...options.allowedHosts.map((h) => h.toLowerCase())])
  const open = !LOOPBACK.includes(options.host) && options.allowedHosts.length === 0
  return createMiddleware(async (c, next) => {
    const host = new URL(c.req.url).hostname.toLowerCase()
    if (open || allowed.has(host)) return next()
    return c.text(`This server does not answer to "${host}". If that name is meant to reach it, add it to ALLOWED_HOSTS.`, 421)
  })
}
