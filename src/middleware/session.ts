import type { Context } from 'hono'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import { ownerOf, SESSION_ID_PATTERN, type IssuedSession, type Session, type Sessions, type SignIns } from '../services/chat/index.ts'

export const SESSION_COOKIE = 'bc_session'

/**
 * Says only that this browser saved sidebar credentials (never what they are): a server that does
 * not hold them (restarted, or another instance) then asks for them again instead of quietly
 * using its own.
 */
export const CREDENTIALS_COOKIE = 'bc_keys'

/** Conversations are found again by the cookie, so it outlives the browser session. */
const COOKIE_MAX_AGE_S = 180 * 24 * 60 * 60

export type SessionVariables = {
  session: Session
  /** Makes `session` this browser's from now on (sign-in): its signed cookie goes with the answer. */
  keepSession: (session: Session) => Promise<void>
  /** Notes in the browser whether it has sidebar credentials saved (after a save or a clear). */
  noteCredentials: (saved: boolean) => void
}

export type SessionOptions = {
  /** The key that signs the cookie: a cookie the server did not sign is never adopted. */
  secret: string
  /** False while a visitor must sign in first: their sessions are neither kept nor given a cookie. */
  storeVisitors: boolean
  /** Whether conversations exist under an owner: lets a cookie from before cookies were signed keep them. */
  ownerHasConversations: (owner: string) => Promise<boolean>
  /** Recorded password sign-ins (sign-ins.ts): a cookie this server does not hold may be signed in elsewhere. */
  signIns?: Pick<SignIns, 'holds' | 'renew' | 'current'>
  /** Whether the browser reached us over HTTPS (directly, or through a trusted proxy that says so): the cookie is then Secure. */
  overHttps: (c: Context) => boolean
}

/**
 * The cookie's value: the session id and owner key, then an HMAC-SHA256 of both with the server's
 * key. node:crypto's HMAC, synchronous and a few microseconds: Hono's signed-cookie helper (Web
 * Crypto, a key imported and an async verify per request) was a fifth of the CPU profile of a page
 * load (bench/pages.ts with BENCH_PROFILE_DIR).
 */
function signature(payload: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest()
}

function sealed(s: Pick<Session, 'id' | 'ownerKey'>, secret: string): string {
  const payload = `${s.id}.${s.ownerKey}`
  return `${payload}.${signature(payload, secret).toString('base64url')}`
}

/** What the signed cookie says, if the server signed it and it has the right shape. */
async function issuedSession(c: Context, options: SessionOptions): Promise<{ issued?: IssuedSession; upgrade: boolean }> {
  const raw = getCookie(c, SESSION_COOKIE)
  if (!raw) return { upgrade: false }
  const [id = '', ownerKey = '', mac = ''] = raw.split('.')
  if (mac) {
    const given = Buffer.from(mac, 'base64url')
    const expected = signature(`${id}.${ownerKey}`, options.secret)
    const valid = given.length === expected.length && timingSafeEqual(given, expected)
    if (valid && SESSION_ID_PATTERN.test(id) && SESSION_ID_PATTERN.test(ownerKey)) return { issued: { id, ownerKey }, upgrade: false }
    return { upgrade: false }
  }
  // a cookie from before cookies were signed: kept only if it already owns conversations (so a
  // value someone made up, owning nothing, is never adopted), then re-issued signed; a database that
  // cannot tell is a 503 (StorageNotAnswering), never a fresh session that would drop the cookie
  const legacy = raw
  if (legacy && SESSION_ID_PATTERN.test(legacy) && (await options.ownerHasConversations(ownerOf(legacy)))) {
    return { issued: { id: legacy, ownerKey: legacy }, upgrade: true }
  }
  return { upgrade: false }
}

/**
 * Ties each browser to its in-memory session through an HttpOnly, SameSite=Lax cookie that the
 * server signs: the id and owner key in it are only ever the server's own. An unknown, forged or
 * expired cookie gets a fresh session (and so no one else's credentials or conversations).
 */
export function session(sessions: Sessions, options: SessionOptions) {
  return createMiddleware<{ Variables: SessionVariables }>(async (c, next) => {
    const { issued, upgrade } = await issuedSession(c, options)
    const { session, created, restored } = sessions.resolve(issued, { store: options.storeVisitors })
    // a browser moved from another instance (or back after a restart) stays signed in while its sign-in is on record
    if (restored && getCookie(c, CREDENTIALS_COOKIE) === '1') session.credentialsLost = true
    if (restored && options.signIns && (await options.signIns.holds(session.id))) session.signedIn = true
    // and a sign-out on another instance ends it here too, within SIGN_IN_CHECK_MS
    else if (session.signedIn && session.user === undefined && options.signIns && !(await options.signIns.current(session.id))) sessions.signOut(session)
    const keep = async (s: Session) =>
      setCookie(c, SESSION_COOKIE, sealed(s, options.secret), {
        httpOnly: true,
        sameSite: 'Lax',
        path: '/',
        maxAge: COOKIE_MAX_AGE_S,
        secure: options.overHttps(c),
      })
    // a new session gets its cookie; a page load renews it, so a browser in use keeps its conversations
    const pageLoad = c.req.method === 'GET' && c.req.header('HX-Request') !== 'true'
    if (sessions.holds(session) && (created || upgrade || pageLoad)) await keep(session)
    if (pageLoad && session.signedIn && session.user === undefined) void options.signIns?.renew(session.id)?.catch(() => {})
    c.set('session', session)
    c.set('keepSession', async (next) => {
      c.set('session', next)
      await keep(next)
    })
    c.set('noteCredentials', (saved) => {
      if (saved) setCookie(c, CREDENTIALS_COOKIE, '1', { httpOnly: true, sameSite: 'Lax', path: '/', maxAge: COOKIE_MAX_AGE_S, secure: options.overHttps(c) })
      else deleteCookie(c, CREDENTIALS_COOKIE, { path: '/' })
    })
    await next()
  })
}
