import { Hono } from 'hono'
import { deleteCookie } from 'hono/cookie'
import { z } from 'zod'
import type { AppEnv } from '../http/env.ts'
import { renderPage } from '../http/render.tsx'
import { validForm } from '../http/validate.ts'
import { clientAddress } from '../middleware/access.ts'
import { CREDENTIALS_COOKIE, SESSION_COOKIE } from '../middleware/session.ts'
import { SignInPage } from '../../views/sign-in.tsx'

/** A path on this site to return to after signing in; anything else (another site, `//host`) is the chat. */
function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])[^\s]*$/.test(next) && next.length <= 2048 ? next : '/'
}

const signInForm = z.object({
  password: z.string({ error: 'Type the password.' }).min(1, 'Type the password.').max(1024, 'That password is too long.'),
  next: z.string().optional(),
})

const nextQuery = z.object({ next: z.string().optional() })

const signIn = new Hono<AppEnv>()

/** The sign-in page (APP_PASSWORD); already signed in, or no password set: on to the chat. */
signIn.get('/signin', (c) => {
  const next = safeNext(nextQuery.safeParse(c.req.query()).data?.next)
  if (!c.var.deps.access.passwordOn || c.var.session.signedIn) return c.redirect(next, 303)
  return renderPage(c, <SignInPage next={next} />)
})

signIn.post(
  '/signin',
  validForm(signInForm, (c, { message, fields }) => renderPage(c, <SignInPage next={safeNext(fields['next'])} error={message} />, 422)),
  async (c) => {
    const { deps, session } = c.var
    const form = c.req.valid('form')
    const next = safeNext(form.next)
    if (!deps.access.passwordOn) return c.redirect(next, 303)
    // behind the trusted proxy every request comes from its address: the client is the one it names
    const address = clientAddress(c)
    const forwarded = deps.access.fromTrustedProxy(address) ? c.req.header('X-Forwarded-For')?.split(',').at(-1)?.trim() : undefined
    const client = forwarded || address || 'unknown'
    const wait = deps.access.waitMs(client)
    if (wait > 0) {
      c.header('Retry-After', String(Math.ceil(wait / 1000)))
      const error = `Too many wrong passwords from here: wait ${Math.ceil(wait / 1000)} s, then try again.`
      return renderPage(c, <SignInPage next={next} error={error} />, 429)
    }
    if (!deps.access.checkPassword(client, form.password)) {
      deps.log.warn('sign-in refused: wrong password', { client })
      return renderPage(c, <SignInPage next={next} error="That password is not right." />, 401)
    }
    const signedIn = deps.sessions.signIn(session)
    await c.var.keepSession(signedIn)
    // on record, so the sign-in holds on every instance (a storage fault leaves it on this one only)
    await deps.signIns.record(signedIn.id).catch((err: unknown) => deps.log.warn('a sign-in could not be recorded: it holds on this instance only', { err }))
    deps.log.info('signed in', { client })
    return c.redirect(next, 303)
  },
)

/** Sign out: this browser's streams end, its sidebar credentials are erased, its cookie goes. */
signIn.post('/signout', async (c) => {
  const { deps, session } = c.var
  deps.sessions.end(session)
  // off the record too, so no instance takes the cookie as signed in again (kept until the database takes it)
  void deps.signIns.forget(session.id).catch((err: unknown) => deps.log.error('a sign-out could not be recorded', { err }))
  deleteCookie(c, SESSION_COOKIE, { path: '/' })
  deleteCookie(c, CREDENTIALS_COOKIE, { path: '/' })
  deps.log.info('signed out')
  if (c.var.partial) {
    c.header('HX-Redirect', '/signin')
    return c.body(null, 204)
  }
  return c.redirect(deps.access.passwordOn ? '/signin' : '/', 303)
})

export default signIn
