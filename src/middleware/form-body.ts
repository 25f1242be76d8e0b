import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createMiddleware } from 'hono/factory'
import { renderErrorPage } from '../http/render.tsx'

const URLENCODED = 'application/x-www-form-urlencoded'
const MULTIPART = 'multipart/form-data'

/** Methods whose requests carry no form. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export type FormBodyOptions = {
  /** The paths whose form carries files, and so may be multipart. */
  filesRoute: RegExp
  /** Bytes a body may have: any form, and one that carries files. */
  limits: { form: number; messageWithFiles: number }
}

function mediaType(c: Context): string | undefined {
  return c.req.header('Content-Type')?.split(';')[0]?.trim().toLowerCase() || undefined
}

/** A request with nothing to read: no body, or one declared empty. */
function empty(c: Context): boolean {
  return c.req.raw.body === null || c.req.header('Content-Length') === '0'
}

function tooLarge(c: Context, max: number) {
  const mb = (max / 1_000_000).toLocaleString('en', { maximumFractionDigits: 1 })
  return renderErrorPage(c, 413, 'That is too much to send', `A form here can carry at most ${mb} MB; this one is larger, so it was not read.`)
}

/**
 * bodyLimit reads a body that comes without Content-Length (chunked) itself, and hands it on in a
 * new Request. Bun knows only the request it was given: on a copy it finds no client address
 * (getConnInfo, which sign-in and the proxy check read) and cannot lift the idle timeout of a
 * long reply. So the read body goes to Hono's body cache, where every parser looks first, and the
 * original request stays: its signal still says when the browser leaves.
 */
function keepOriginalRequest(c: Context, original: Request) {
  if (c.req.raw === original) return
  // Hono keeps the promise of the body in its cache, whatever the cache's type says
  c.req.bodyCache.arrayBuffer = c.req.raw.arrayBuffer() as unknown as ArrayBuffer
  c.req.raw = original
}

/**
 * The bodies a form post may have, checked before anything reads one. The app's forms are
 * urlencoded, and the one that carries files is multipart: any other content type (JSON, text,
 * or multipart where no files go) gets 415, and so does a body with no type at all; a post with
 * no body passes, as there is nothing to misread. A body over its limit gets 413 (hono's
 * bodyLimit: at once from Content-Length, or while it streams in).
 */
export function formBody(options: FormBodyOptions) {
  const limits = {
    form: bodyLimit({ maxSize: options.limits.form, onError: (c) => tooLarge(c, options.limits.form) }),
    messageWithFiles: bodyLimit({ maxSize: options.limits.messageWithFiles, onError: (c) => tooLarge(c, options.limits.messageWithFiles) }),
  }
  return createMiddleware(async (c, next) => {
    if (READ_METHODS.has(c.req.method)) return next()
    const type = mediaType(c)
    const takesFiles = options.filesRoute.test(c.req.path)
    if (type === undefined && empty(c)) return next()
    if (type !== URLENCODED && !(type === MULTIPART && takesFiles)) {
      const takes = takesFiles ? `${URLENCODED} or ${MULTIPART}` : URLENCODED
      return renderErrorPage(c, 415, 'This cannot be sent here', `This address takes a form (${takes}), not ${type ?? 'a body with no content type'}.`)
    }
    const original = c.req.raw
    let read = false
    try {
      return await (type === MULTIPART ? limits.messageWithFiles : limits.form)(c, async () => {
        read = true
        keepOriginalRequest(c, original)
        await next()
      })
    } catch (err) {
      if (read) throw err
      // reading a streamed body failed: the browser left or broke its chunked encoding mid-body
      return renderErrorPage(
        c,
        400,
        'The form arrived incomplete',
        'The connection broke before the whole form arrived, so none of it was used. Send it again.',
      )
    }
  })
}
