import { withoutBidiControls } from '../bidi.ts'
import { replyHighlightBudget } from './highlight.ts'
import { inlineText, parser, type RenderEnv } from './parser.ts'
import { sanitizeReplyHtml } from './sanitize.ts'
import { escapeHtml } from './urls.ts'

/**
 * Model replies, from Markdown to HTML a page can show. The reply is untrusted text: markdown-it
 * renders it with raw HTML escaped (see markdown/parser.ts), and sanitize-html passes the result
 * through an allowlist (markdown/sanitize.ts) as the very last step, so what this returns is safe
 * to insert with hono's `raw()`. No script, handler, style, image, frame, form control (the Copy
 * buttons aside) or htmx attribute survives; links are http, https or mailto only.
 */

export type RenderOptions = {
  /**
   * Starts the ids of this reply's code blocks (`PREFIX-code-1`, ...), which its Copy buttons
   * point at: give each reply on a page its own (e.g. `m42`). A letter, then letters, digits, `-`
   * or `_`. Without one, a random prefix keeps ids unique anyway.
   */
  idPrefix?: string
}

const ID_PREFIX = /^[A-Za-z][\w-]{0,63}$/

/** A finished reply as safe HTML: headings, lists, tables, links, highlighted code with Copy buttons. */
export function renderMarkdown(markdown: string, options: RenderOptions = {}): string {
  const env: RenderEnv = { idPrefix: idPrefix(options.idPrefix), codeIds: [], highlightBudget: replyHighlightBudget() }
  const html = parser.render(withoutBidiControls(markdown), env)
  return sanitizeReplyHtml(html, new Set(env.codeIds))
}

/**
 * A reply while it streams: the text escaped, nothing parsed (half a Markdown table or an unclosed
 * fence would only flicker). Show it in an element with `white-space: pre-wrap` (`.md-streaming` in
 * public/markdown.css); the finished reply's `renderMarkdown` replaces it.
 */
export function renderStreamingText(text: string): string {
  return escapeHtml(withoutBidiControls(text))
}

/**
 * The words of a reply without its markup (for titles, search snippets, previews): one line per
 * block, code as written, an image as its alt text, links as their text.
 */
export function markdownToPlainText(markdown: string): string {
  const lines: string[] = []
  const env: RenderEnv = { idPrefix: 'plain', codeIds: [], highlightBudget: replyHighlightBudget() }
  for (const token of parser.parse(withoutBidiControls(markdown), env)) {
    if (token.type === 'inline') lines.push(inlineText(token.children ?? []))
    else if (token.type === 'fence' || token.type === 'code_block') lines.push(token.content.replace(/\n$/, ''))
  }
  return lines.join('\n')
}

function idPrefix(prefix: string | undefined): string {
  if (prefix === undefined) return `md-${crypto.randomUUID().slice(0, 8)}`
  if (!ID_PREFIX.test(prefix)) throw new TypeError(`renderMarkdown: idPrefix must match ${ID_PREFIX} (got ${JSON.stringify(prefix)})`)
  return prefix
}
