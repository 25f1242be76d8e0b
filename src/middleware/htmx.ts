import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'

export type HtmxVariables = { partial: boolean }

/** Whether htmx asks for a fragment (swapping part of the page) rather than a whole page. */
export function wantsFragment(c: Context): boolean {
  return c.req.header('HX-Request') === 'true' && c.req.header('HX-Request-Type') !== 'full'
}

/**
 * Tells a fragment request (htmx swapping part of the page) from a page load, so a URL a person
 * lands on always answers a whole page. htmx 4 sends HX-Request-Type: partial|full.
 */
export function htmxRequest() {
  return createMiddleware<{ Variables: HtmxVariables }>(async (c, next) => {
    c.set('partial', wantsFragment(c))
    await next()
    c.header('Vary', 'HX-Request, HX-Request-Type', { append: true })
  })
}
