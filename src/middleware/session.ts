import { getCookie, setCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import type { Session, Sessions } from '../services/chat/index.ts'

export const SESSION_COOKIE = 'bc_session'

export type SessionVariables = { session: Session }

/**
 * Ties each browser to its in-memory session through a random, HttpOnly, SameSite=Lax cookie.
 * An unknown or expired cookie gets a fresh session (and so no one else's credentials).
 */
export function session(sessions: Sessions) {
  return createMiddleware<{ Variables: SessionVariables }>(async (c, next) => {
    const { session, created } = sessions.resolve(getCookie(c, SESSION_COOKIE))
    // a new session gets its cookie; a page load renews it, so a browser in use keeps its conversations
    if (created || (c.req.method === 'GET' && c.req.header('HX-Request') !== 'true')) {
      setCookie(c, SESSION_COOKIE, session.id, {
        httpOnly: true,
        sameSite: 'Lax',
        path: '/',
        // conversations are found again by this cookie, so it outlives the browser session
        maxAge: 180 * 24 * 60 * 60,
        secure: new URL(c.req.url).protocol === 'https:',
      })
    }
    c.set('session', session)
    await next()
  })
}
