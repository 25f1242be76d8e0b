import sanitizeHtml from 'sanitize-html'
import { isAllowedUrl } from './urls.ts'

/**
 * The tags a reply may contain: what the Markdown renderer emits and nothing more. No form
 * controls (the Copy buttons excepted, checked one by one below), no images or other embedded
 * content, no SVG or MathML, no style, script, template, meta, link or base, no custom elements
 * (htmx 4 treats `<hx-partial>` and friends as instructions).
 */
const ALLOWED_TAGS = [
  'p',
  'br',
  'hr',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'strong',
  'em',
  's',
  'del',
  'blockquote',
  'ul',
  'ol',
  'li',
  'a',
  'code',
  'pre',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'div',
  'span',
  'button',
]

/**
 * Attributes by tag. None of `on*`, `style`, `hx-*`, `data-hx-*`, `src`, `action`, `formaction`:
 * an allowlist cannot forget a new event handler or htmx attribute, it never lists them.
 * `id` only on `code` and `data-copy-target` only on `button`, each checked against this render's
 * own ids in `transformTags`.
 */
const ALLOWED_ATTRIBUTES: sanitizeHtml.IOptions['allowedAttributes'] = {
  a: ['href', 'title', 'rel', 'target', 'class'],
  ol: ['start'],
  code: ['id', 'class'],
  button: ['type', 'class', 'data-copy-target'],
  span: ['class'],
  div: ['class'],
  li: ['class'],
  th: ['class'],
  td: ['class'],
}

/**
 * Classes by tag: highlight.js's (`hljs`, `hljs-keyword`, and the scope suffixes of v11 such as
 * `function_` and `inherited__`), `language-*`, and this renderer's own. No other class survives,
 * so a reply cannot borrow the page's styles (say, to look like a system notice).
 */
const ALLOWED_CLASSES: sanitizeHtml.IOptions['allowedClasses'] = {
  code: ['hljs', 'language-*'],
  span: ['hljs-*', 'language-*', /^[a-z]+_{1,3}$/, 'code-block-lang', 'md-image-url', 'md-task'],
  div: ['code-block', 'code-block-header', 'md-table'],
  a: ['md-image'],
  button: ['copy-code'],
  li: ['task-list-item'],
  th: ['md-align-left', 'md-align-center', 'md-align-right'],
  td: ['md-align-left', 'md-align-center', 'md-align-right'],
}

/** Every link opens in a new tab, without an opener, a referrer or search-engine credit. */
const LINK_REL = 'noopener noreferrer nofollow'

/**
 * The last step before the HTML reaches a page, whatever the renderer did: sanitize-html over
 * htmlparser2, an allowlist of tags, attributes, classes and URL schemes. `codeIds` are the ids
 * this render handed out; any other id is dropped, and a button that is not exactly one of our
 * Copy buttons for one of those ids becomes an inert span (its text stays visible).
 */
export function sanitizeReplyHtml(html: string, codeIds: ReadonlySet<string>): string {
  return sanitizeHtml(html, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: ALLOWED_ATTRIBUTES,
    allowedClasses: ALLOWED_CLASSES,
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesByTag: {},
    allowedSchemesAppliedToAttributes: ['href'],
    allowProtocolRelative: false,
    disallowedTagsMode: 'discard',
    transformTags: {
      a: (_tag, attribs) => safeLink(attribs),
      code: (_tag, attribs) => ({ tagName: 'code', attribs: withoutForeignId(attribs, codeIds) }),
      button: (_tag, attribs) => copyButton(attribs, codeIds),
    },
  })
}

type Attributes = sanitizeHtml.Attributes

/** A link to an allowed absolute URL keeps its href and gets rel and target; any other is a span. */
function safeLink(attribs: Attributes): sanitizeHtml.Tag {
  const href = attribs.href ?? ''
  if (!isAllowedUrl(href)) return { tagName: 'span', attribs: {} }
  const kept: Attributes = { href, rel: LINK_REL, target: '_blank' }
  if (attribs.title) kept.title = attribs.title
  if (attribs.class) kept.class = attribs.class
  return { tagName: 'a', attribs: kept }
}

function withoutForeignId(attribs: Attributes, codeIds: ReadonlySet<string>): Attributes {
  const { id, ...rest } = attribs
  return id !== undefined && codeIds.has(id) ? attribs : rest
}

function copyButton(attribs: Attributes, codeIds: ReadonlySet<string>): sanitizeHtml.Tag {
  const target = attribs['data-copy-target'] ?? ''
  const ours = Object.keys(attribs).length === 3 && attribs.type === 'button' && attribs.class === 'copy-code' && codeIds.has(target)
  return ours ? { tagName: 'button', attribs } : { tagName: 'span', attribs: {} }
}
