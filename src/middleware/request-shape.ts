import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { renderErrorPage } from '../http/render.tsx'
import { REQUEST_LIMITS } from '../http/request-limits.ts'

/** C0 control characters and DEL: no address of this app has one, decoded or not. */
const CONTROL = /[\u0000-\u001f\u007f]/

/** A piece of an address decoded, or undefined if its percent-encoding is broken (`%E0%A4%A`, `%ZZ`, `%FF`). */
function decoded(piece: string): string | undefined {
  try {
    return decodeURIComponent(piece)
  } catch {
    return undefined
  }
}

/** The path's and the query string's pieces, decoded; undefined where one cannot be. */
function addressPieces(path: string, query: string): (string | undefined)[] {
  const pieces = path.split('/').map(decoded)
  for (const pair of query.split('&')) for (const part of pair.split('=')) pieces.push(decoded(part.replace(/\+/g, ' ')))
  return pieces
}

/** Bytes of the request's header lines, as they came (name, ": ", value, CRLF). */
function headerBytes(c: Context): number {
  let total = 0
  c.req.raw.headers.forEach((value, name) => {
    total += name.length + value.length + 4
  })
  return total
}

/**
 * Refuses a request whose address or head no route could use, before any route, file lookup or
 * cookie parser sees it: a path or query string over REQUEST_LIMITS (414), a head over
 * REQUEST_LIMITS.headerBytes (431), a broken percent-encoding or a control character (NUL, CR, LF…)
 * in the path or the query string (400). Each answer says what was wrong, as a page or, for htmx,
 * a fragment.
 */
export function requestShape() {
  return createMiddleware(async (c, next) => {
    const url = c.req.url
    const pathStart = url.indexOf('/', url.indexOf('//') + 2)
    const queryStart = url.indexOf('?', pathStart)
    const path = queryStart === -1 ? url.slice(pathStart) : url.slice(pathStart, queryStart)
    const query = queryStart === -1 ? '' : url.slice(queryStart + 1)
    if (path.length > REQUEST_LIMITS.pathLength) {
      return renderErrorPage(c, 414, 'That address is too long', `An address here is at most ${REQUEST_LIMITS.pathLength.toLocaleString('en')} characters.`)
    }
    if (query.length > REQUEST_LIMITS.queryLength) {
      return renderErrorPage(c, 414, 'That address is too long', `The part after “?” is at most ${REQUEST_LIMITS.queryLength.toLocaleString('en')} characters.`)
    }
    if (headerBytes(c) > REQUEST_LIMITS.headerBytes) {
      return renderErrorPage(
        c,
        431,
        'The request’s headers are too large',
        'Its headers (usually its cookies) are larger than this server takes. Clear this site’s cookies and try again.',
      )
    }
    const pieces = addressPieces(path, query)
    if (pieces.includes(undefined)) {
      return renderErrorPage(c, 400, 'That address is not valid', 'It has a broken percent-encoding (such as %E0%A4%A or %ZZ), so it cannot be read.')
    }
    if (pieces.some((p) => p !== undefined && CONTROL.test(p))) {
      return renderErrorPage(c, 400, 'That address is not valid', 'It holds a control character (such as NUL or a line break), which no address here has.')
    }
    await next()
  })
}
