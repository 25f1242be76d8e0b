import { hostname, networkInterfaces } from 'node:os'
import { createMiddleware } from 'hono/factory'
import { LOOPBACK_HOSTS } from '../config.ts'

/** The names and addresses this machine itself answers to: its host name and its interfaces' addresses. */
function ownNames(): string[] {
  const addresses = Object.values(networkInterfaces())
    .flat()
    .flatMap((i) => (i ? [i.address, `[${i.address}]`] : []))
  const name = hostname().toLowerCase()
  return [name, name.split('.')[0]!, ...addresses]
}

/**
 * Answers only to the names this server is meant to be reached by. A web page the person visits
 * could otherwise point its own domain at this server (DNS rebinding) and, being "same origin"
 * with itself, chat with the server's credentials or read the dashboard. Served: loopback names,
 * the address it is bound to, the machine's own name and addresses, and ALLOWED_HOSTS; on
 * 0.0.0.0 as much as on any other address. Anything else gets 421.
 */
export function hostCheck(options: { host: string; allowedHosts: string[] }) {
  const allowed = new Set([...LOOPBACK_HOSTS, options.host, ...ownNames(), ...options.allowedHosts].map((h) => h.toLowerCase()))
  return createMiddleware(async (c, next) => {
    const host = new URL(c.req.url).hostname.toLowerCase()
    if (allowed.has(host)) return next()
    return c.text(`This server does not answer to "${host}". If that name is meant to reach it, add it to ALLOWED_HOSTS.`, 421)
  })
}
