import type { Child } from 'hono/jsx'

/**
 * Where a refusal that is not a form's own (a request the server could not take at all) is shown
 * to htmx: every page has this one empty alert, which the refusal's fragment fills.
 */
export const REQUEST_ERROR_ID = 'request-error'

export type LayoutProps = { title: string; children?: Child; scripts?: string[]; styles?: string[] }

/** The page shell. Hono's JSX emits no doctype: the route prepends it (see renderPage). */
export function Layout({ title, children, scripts = [], styles = [] }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title}</title>
        <link rel="icon" href="/public/favicon.svg" type="image/svg+xml" />
        {styles.map((href) => (
          <link rel="stylesheet" href={href} />
        ))}
        <link rel="stylesheet" href="/public/app.css" />
        {/* not deferred: htmx's first pass over the page must find its SSE extension registered */}
        <script src="/public/vendor/htmx.min.js"></script>
        <script src="/public/vendor/hx-sse.min.js"></script>
        {scripts.map((src) => (
          <script src={src} defer></script>
        ))}
      </head>
      <body>
        <p id={REQUEST_ERROR_ID} class="form-error request-error" role="alert"></p>
        {children}
      </body>
    </html>
  )
}
