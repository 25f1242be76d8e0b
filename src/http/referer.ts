import type { Context } from 'hono'

/**
 * The same-origin chat page a form was posted from: where a form without JavaScript returns to.
 * Anything else (another site, a path that is not a chat page, no Referer) is the new chat.
 */
export function refererPath(c: Context): string {
  const referer = c.req.header('Referer')
  if (!referer) return '/'
  try {
    const url = new URL(referer)
    return url.origin === new URL(c.req.url).origin && /^\/(c\/[\w-]+)?$/.test(url.pathname) ? url.pathname : '/'
  } catch {
    return '/'
  }
}
