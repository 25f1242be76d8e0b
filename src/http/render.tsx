import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { Child } from 'hono/jsx'
import { ErrorPage } from '../../views/error.tsx'
import { REQUEST_ERROR_ID } from '../../views/layout.tsx'
import { Partial } from '../../views/partial.tsx'
import { wantsFragment } from '../middleware/htmx.ts'

/** A whole HTML page: Hono's JSX has no doctype, so it is prepended here (or browsers use quirks mode). */
export function renderPage(c: Context, node: Child, status: ContentfulStatusCode = 200) {
  return c.html(`<!DOCTYPE html>${String(node)}`, status)
}

/** A JSX fragment as a string, for event-stream messages. */
export function renderFragment(node: Child): string {
  return String(node)
}

/**
 * A refusal in words: a whole page for a person, or for htmx a fragment that fills the page's
 * one alert (so a refused swap never pours a whole page into part of another).
 */
export function renderErrorPage(c: Context, status: ContentfulStatusCode, title: string, detail: string) {
  if (wantsFragment(c)) {
    return c.html(
      renderFragment(
        <Partial target={`#${REQUEST_ERROR_ID}`} swap="innerHTML">
          {title}: {detail}
        </Partial>,
      ),
      status,
    )
  }
  return renderPage(c, <ErrorPage title={title} detail={detail} />, status)
}
