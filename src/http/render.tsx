import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { Child } from 'hono/jsx'
import { ErrorPage } from '../../views/error.tsx'

/** A whole HTML page: Hono's JSX has no doctype, so it is prepended here (or browsers use quirks mode). */
export function renderPage(c: Context, node: Child, status: ContentfulStatusCode = 200) {
  return c.html(`<!DOCTYPE html>${String(node)}`, status)
}

/** A JSX fragment as a string, for event-stream messages. */
export function renderFragment(node: Child): string {
  return String(node)
}

export function renderErrorPage(c: Context, status: ContentfulStatusCode, title: string, detail: string) {
  return renderPage(c, <ErrorPage title={title} detail={detail} />, status)
}
