import { afterAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { parseFragment, type DefaultTreeAdapterTypes } from 'parse5'
import type { Browser } from 'playwright-core'
import { markdownToPlainText, renderMarkdown, renderStreamingText } from '../src/services/markdown/index.ts'
import { AUTO_DETECT_MAX_CHARS, HIGHLIGHT_MAX_CHARS, HIGHLIGHT_MAX_LINE_CHARS, REPLY_HIGHLIGHT_BUDGET_CHARS } from '../src/services/markdown/highlight.ts'
import { sanitizeReplyHtml } from '../src/services/markdown/sanitize.ts'
import { launchBrowser, skipBrowserTests, watchProblems, type PageProblem } from './browser-helpers.ts'
import { hostileOutputs } from './fixtures/hostile-outputs.ts'

type Element = DefaultTreeAdapterTypes.Element
type Node = DefaultTreeAdapterTypes.ChildNode | DefaultTreeAdapterTypes.DocumentFragment

/**
 * The rendered HTML as a browser builds it. parse5 implements the HTML standard's tree
 * construction (the part mutation-XSS plays on), unlike htmlparser2, which the sanitizer itself
 * uses: checking with the sanitizer's own parser would share its blind spots. Parsed as a
 * fragment in a <template>, as htmx 4 parses a swapped response.
 */
function parse(html: string) {
  const elements: Element[] = []
  let text = ''
  let comments = 0
  const walk = (node: Node) => {
    if (node.nodeName === '#text') text += (node as DefaultTreeAdapterTypes.TextNode).value
    else if (node.nodeName === '#comment') comments++
    else if ('tagName' in node) elements.push(node)
    const content = 'content' in node ? node.content : undefined // <template> keeps its children apart
    for (const child of [...('childNodes' in node ? node.childNodes : []), ...(content?.childNodes ?? [])]) walk(child)
  }
  walk(parseFragment(html))
  return { elements, text, comments }
}

const attr = (el: Element, name: string) => el.attrs.find((a) => a.name === name)?.value
const byTag = (html: string, tag: string) => parse(html).elements.filter((el) => el.tagName === tag)
const classesOf = (el: Element) => (attr(el, 'class') ?? '').split(/\s+/).filter(Boolean)
const highlightSpans = (html: string) =>
  byTag(html, 'span')
    .flatMap(classesOf)
    .filter((c) => c.startsWith('hljs-'))

/** TypeScript of exactly `length` characters, in short lines, with `<`, `&` and quotes to escape. */
function typeScript(length: number): string {
  const lines = 'export function clamp(n: number, lo = 0): number {\n  // keep <n> & co. in "range"\n  return n < lo ? lo : n\n}\n'
  return lines.repeat(Math.ceil(length / lines.length)).slice(0, length)
}

// The test's own allowlists, written out again rather than imported: a change to the sanitizer's
// lists must be made here too, on purpose.
const ALLOWED_TAGS = new Set([
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
])
const BANNED_TAGS = [
  'script',
  'img',
  'iframe',
  'object',
  'embed',
  'svg',
  'math',
  'form',
  'input',
  'meta',
  'link',
  'style',
  'base',
  'template',
  'noscript',
  'textarea',
  'select',
  'video',
  'audio',
  'source',
  'frame',
]
const ALLOWED_ATTRIBUTES: Record<string, string[]> = {
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
const OWN_CLASSES = new Set([
  'hljs',
  'code-block',
  'code-block-header',
  'code-block-lang',
  'copy-code',
  'md-image',
  'md-image-url',
  'md-table',
  'md-task',
  'task-list-item',
  'md-align-left',
  'md-align-center',
  'md-align-right',
])
const allowedClass = (name: string) => OWN_CLASSES.has(name) || /^hljs-[\w-]+$/.test(name) || /^language-[\w-]+$/.test(name) || /^[a-z]+_{1,3}$/.test(name)
const URL_ATTRIBUTES = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'background', 'ping', 'srcset', 'cite', 'srcdoc']

/** The scheme a browser would see: entities are already decoded by the parser; whitespace and controls go. */
function schemeOf(url: string): string | undefined {
  const squeezed = url.replace(/[\u0000-\u0020\u007f-\u009f\s\u200b-\u200d\ufeff]/g, '')
  return /^([a-z][a-z\d+.-]*):/i.exec(squeezed)?.[1]?.toLowerCase()
}

/** Everything that must hold for any reply, whatever the model wrote. Returns the violations. */
function violations(html: string, idPrefix: string): string[] {
  const found: string[] = []
  const { elements, comments } = parse(html)
  const codeIds = new Set<string>()
  if (comments > 0) found.push(`${comments} comment(s)`)
  if (/<hx-/i.test(html)) found.push('"<hx-" in the markup (htmx 4 rewrites those into templates)')
  // text is escaped, so every '<' in the markup opens a real tag
  if (/<[^>]*\sstyle\s*=/i.test(html)) found.push('a style attribute in the markup')
  for (const el of elements) {
    const tag = el.tagName
    if (BANNED_TAGS.includes(tag)) found.push(`banned element <${tag}>`)
    if (!ALLOWED_TAGS.has(tag)) found.push(`element outside the allowlist <${tag}>`)
    for (const { name, value } of el.attrs) {
      if (name.startsWith('on')) found.push(`event handler ${name} on <${tag}>`)
      if (name.startsWith('hx-') || name.startsWith('data-hx-')) found.push(`htmx attribute ${name} on <${tag}>`)
      if (name === 'style') found.push(`style attribute on <${tag}>`)
      if (URL_ATTRIBUTES.includes(name)) {
        const scheme = schemeOf(value)
        if (!scheme || !['http', 'https', 'mailto'].includes(scheme)) found.push(`${name}="${value}" on <${tag}>`)
      }
      if (!(ALLOWED_ATTRIBUTES[tag] ?? []).includes(name)) found.push(`attribute ${name} outside the allowlist on <${tag}>`)
    }
    for (const name of classesOf(el)) if (!allowedClass(name)) found.push(`class "${name}" on <${tag}>`)
    const id = attr(el, 'id')
    if (id !== undefined) {
      if (tag !== 'code' || !new RegExp(`^${idPrefix}-code-\\d+$`).test(id)) found.push(`id "${id}" on <${tag}>`)
      if (codeIds.has(id)) found.push(`duplicate id "${id}"`)
      codeIds.add(id)
    }
    if (tag === 'a' && (attr(el, 'rel') !== 'noopener noreferrer nofollow' || attr(el, 'target') !== '_blank'))
      found.push(`link without rel/target: ${attr(el, 'href')}`)
  }
  for (const button of elements.filter((el) => el.tagName === 'button')) {
    const target = attr(button, 'data-copy-target')
    if (attr(button, 'type') !== 'button' || attr(button, 'class') !== 'copy-code' || !target || !codeIds.has(target)) {
      found.push(`a button that is not a Copy button for a code block here: ${JSON.stringify(button.attrs)}`)
    }
  }
  return found
}

describe('Markdown features render', () => {
  test('headings, emphasis, strikethrough and blockquotes', () => {
    const html = renderMarkdown('# Title\n\n## Sub *it* **bold** ~~gone~~\n\n> quoted', { idPrefix: 'f' })
    expect(byTag(html, 'h1').length).toBe(1)
    expect(byTag(html, 'h2').length).toBe(1)
    expect(byTag(html, 'em').length).toBe(1)
    expect(byTag(html, 'strong').length).toBe(1)
    expect(byTag(html, 's').length).toBe(1)
    expect(byTag(html, 'blockquote').length).toBe(1)
    expect(parse(html).text).toContain('Title')
  })

  test('ordered, unordered, nested and task lists', () => {
    const html = renderMarkdown('- one\n  1. inner\n  2. two\n- [ ] todo\n- [x] done\n\n3. starts at three', { idPrefix: 'f' })
    const lists = parse(html).elements.filter((el) => el.tagName === 'ul' || el.tagName === 'ol')
    expect(lists.map((el) => el.tagName)).toEqual(['ul', 'ol', 'ol'])
    expect(lists[1]!.parentNode && 'tagName' in lists[1]!.parentNode ? lists[1]!.parentNode.tagName : '').toBe('li')
    expect(attr(lists[2]!, 'start')).toBe('3')
    const tasks = byTag(html, 'li').filter((li) => classesOf(li).includes('task-list-item'))
    expect(tasks.length).toBe(2)
    expect(parse(html).text).toContain('☐ todo')
    expect(parse(html).text).toContain('☑ done')
    expect(byTag(html, 'input')).toEqual([])
  })

  test('GFM tables, aligned by class and not by style', () => {
    const html = renderMarkdown('| name | n |\n|:-----|--:|\n| a | 1 |\n| b | 2 |', { idPrefix: 'f' })
    const wrapper = byTag(html, 'div').find((el) => classesOf(el).includes('md-table'))
    expect(wrapper).toBeDefined()
    expect(byTag(html, 'th').map((th) => attr(th, 'class'))).toEqual(['md-align-left', 'md-align-right'])
    expect(byTag(html, 'td').length).toBe(4)
    expect(html).not.toContain('style=')
  })

  test('links open in a new tab, without opener, referrer or search credit', () => {
    const html = renderMarkdown(
      '[docs](https://docs.example/a?b=1 "The docs"), <https://auto.example/>, https://bare.example/x and [mail](mailto:a@b.example)',
      { idPrefix: 'f' },
    )
    const links = byTag(html, 'a')
    expect(links.map((a) => attr(a, 'href'))).toEqual(['https://docs.example/a?b=1', 'https://auto.example/', 'https://bare.example/x', 'mailto:a@b.example'])
    for (const a of links) {
      expect(attr(a, 'rel')).toBe('noopener noreferrer nofollow')
      expect(attr(a, 'target')).toBe('_blank')
    }
    expect(attr(links[0]!, 'title')).toBe('The docs')
  })

  test('inline code is code, not markup', () => {
    const html = renderMarkdown('Run `npm <i>install</i>` now', { idPrefix: 'f' })
    const code = byTag(html, 'code')
    expect(code.length).toBe(1)
    expect(parse(html).text).toBe('Run npm <i>install</i> now\n')
    expect(byTag(html, 'i')).toEqual([])
  })

  test('a fenced code block is highlighted, labelled and has a Copy button for its code', () => {
    const html = renderMarkdown('```ts\nconst answer: number = 42 // the answer\n```', { idPrefix: 'm7' })
    const code = byTag(html, 'code')[0]!
    expect(attr(code, 'id')).toBe('m7-code-1')
    expect(classesOf(code)).toEqual(['hljs', 'language-typescript'])
    const spans = byTag(html, 'span').flatMap(classesOf)
    expect(spans).toContain('hljs-keyword')
    expect(spans).toContain('hljs-comment')
    const label = byTag(html, 'span').find((el) => classesOf(el).includes('code-block-lang'))!
    expect(parse(html).text).toContain('TypeScript')
    expect(label).toBeDefined()
    const button = byTag(html, 'button')[0]!
    expect(button.attrs).toEqual([
      { name: 'type', value: 'button' },
      { name: 'class', value: 'copy-code' },
      { name: 'data-copy-target', value: 'm7-code-1' },
    ])
    expect(parse(html).text).toContain('Copy')
    expect(parse(renderMarkdown('```ts\nconst answer = 42\n```', { idPrefix: 'm7' })).text).toContain('const answer = 42')
  })

  test('an unknown fence language shows plain escaped code, labelled with the word as written', () => {
    const html = renderMarkdown('```brainfunk\n<b>++[>+<-]</b>\n```', { idPrefix: 'f' })
    expect(
      byTag(html, 'span')
        .flatMap(classesOf)
        .some((c) => c.startsWith('hljs-')),
    ).toBe(false)
    expect(classesOf(byTag(html, 'code')[0]!)).toEqual(['hljs'])
    expect(parse(html).text).toContain('brainfunk')
    expect(parse(html).text).toContain('<b>++[>+<-]</b>')
  })

  test('a fence without a language is auto-detected among common ones, or shown as text', () => {
    const python = renderMarkdown('```\ndef area(r):\n    return 3.14 * r * r\n\nprint(area(2))\n```', { idPrefix: 'f' })
    expect(classesOf(byTag(python, 'code')[0]!)).toEqual(['hljs', 'language-python'])
    expect(parse(python).text).toContain('Python')
    const json = renderMarkdown('```\n{"a": 1, "b": [true, null]}\n```', { idPrefix: 'f' })
    expect(classesOf(byTag(json, 'code')[0]!)).toEqual(['hljs', 'language-json'])
    const prose = renderMarkdown('```\nJust a few words of prose.\n```', { idPrefix: 'f' })
    expect(classesOf(byTag(prose, 'code')[0]!)).toEqual(['hljs'])
    expect(parse(prose).text).toContain('Text')
  })

  test('a large unlabelled code block is shown as plain escaped code, labelled Text, with its Copy button', () => {
    const code = typeScript(100_000)
    const html = renderMarkdown(`\`\`\`\n${code}\n\`\`\``, { idPrefix: 'big' })
    const block = byTag(html, 'code')[0]!
    expect(classesOf(block)).toEqual(['hljs'])
    expect(highlightSpans(html)).toEqual([])
    expect(parse(html).text).toContain('Text')
    expect(parse(html).text).toContain(code)
    expect(attr(byTag(html, 'button')[0]!, 'data-copy-target')).toBe(attr(block, 'id')!)
  })

  test('a labelled block too long to be guessed at is still highlighted in the language it names', () => {
    const code = typeScript(HIGHLIGHT_MAX_CHARS)
    expect(code.length).toBeGreaterThan(AUTO_DETECT_MAX_CHARS)
    const labelled = renderMarkdown(`\`\`\`ts\n${code}\n\`\`\``, { idPrefix: 'f' })
    expect(classesOf(byTag(labelled, 'code')[0]!)).toEqual(['hljs', 'language-typescript'])
    expect(highlightSpans(labelled)).toContain('hljs-keyword')
    const unlabelled = renderMarkdown(`\`\`\`\n${code}\n\`\`\``, { idPrefix: 'f' })
    expect(classesOf(byTag(unlabelled, 'code')[0]!)).toEqual(['hljs'])
  })

  test('a labelled block too large, or with a line too long, keeps its label and shows plain', () => {
    const large = typeScript(HIGHLIGHT_MAX_CHARS + 1)
    const longLine = `const data = "${'x'.repeat(HIGHLIGHT_MAX_LINE_CHARS)}"`
    for (const code of [large, longLine]) {
      const html = renderMarkdown(`\`\`\`ts\n${code}\n\`\`\``, { idPrefix: 'f' })
      expect(classesOf(byTag(html, 'code')[0]!)).toEqual(['hljs'])
      expect(highlightSpans(html)).toEqual([])
      expect(parse(html).text).toContain('TypeScript')
      expect(parse(html).text).toContain(code)
    }
  })

  test("once a reply's highlighting budget is spent, its further code blocks show plain", () => {
    const block = `\`\`\`ts\n${typeScript(HIGHLIGHT_MAX_CHARS)}\n\`\`\``
    const count = Math.floor(REPLY_HIGHLIGHT_BUDGET_CHARS / HIGHLIGHT_MAX_CHARS)
    const html = renderMarkdown(Array.from({ length: count + 2 }, () => block).join('\n\n'), { idPrefix: 'f' })
    const languages = byTag(html, 'code').map((el) => classesOf(el).join(' '))
    expect(languages).toEqual([...Array(count).fill('hljs language-typescript'), 'hljs', 'hljs'])
    expect(byTag(html, 'button').length).toBe(count + 2)
  })

  test('an indented code block gets a Copy button too', () => {
    const html = renderMarkdown('Example:\n\n    SELECT id, name FROM users WHERE id = 1;\n', { idPrefix: 'f' })
    expect(attr(byTag(html, 'button')[0]!, 'data-copy-target')).toBe(attr(byTag(html, 'code')[0]!, 'id')!)
  })

  test('raw HTML is shown as text, not rendered', () => {
    const html = renderMarkdown('<b>bold?</b> <div class="x">block</div>', { idPrefix: 'f' })
    expect(byTag(html, 'b')).toEqual([])
    expect(parse(html).text).toContain('<b>bold?</b> <div class="x">block</div>')
  })
})

describe('hostile model output is inert', () => {
  test('the corpus has at least 40 outputs, each named once', () => {
    expect(hostileOutputs.length).toBeGreaterThanOrEqual(40)
    expect(new Set(hostileOutputs.map((h) => h.name)).size).toBe(hostileOutputs.length)
  })

  for (const hostile of hostileOutputs) {
    test(hostile.name, () => {
      const html = renderMarkdown(hostile.markdown, { idPrefix: 'r1' })
      expect(violations(html, 'r1')).toEqual([])
      const { text } = parse(html)
      for (const shown of hostile.shows ?? []) expect(text).toContain(shown)
    })
  }

  // Defence in depth: the same corpus fed to the sanitizer as HTML, as if the renderer had let
  // it all through. The last step holds on its own.
  test('the sanitizer alone neutralises every output fed to it as HTML', () => {
    for (const hostile of hostileOutputs) {
      expect({ name: hostile.name, found: violations(sanitizeReplyHtml(hostile.markdown, new Set()), 'none') }).toEqual({ name: hostile.name, found: [] })
    }
  })

  test('the sanitizer keeps only Copy buttons and ids that this render made', () => {
    const forged =
      '<button type="button" class="copy-code" data-copy-target="x-code-9">Copy</button>' +
      '<button type="submit" class="copy-code" data-copy-target="x-code-1">Go</button>' +
      '<button type="button" class="copy-code" data-copy-target="x-code-1" hx-post="/x">Copy</button>' +
      '<code id="main">a</code><code id="x-code-1">b</code><span class="msg user">c</span>'
    const html = sanitizeReplyHtml(forged, new Set(['x-code-1']))
    expect(byTag(html, 'button')).toEqual([])
    expect(byTag(html, 'code').map((el) => attr(el, 'id'))).toEqual([undefined, 'x-code-1'])
    expect(byTag(html, 'span').map((el) => attr(el, 'class'))).toEqual([undefined, undefined, undefined, undefined])
    expect(parse(html).text).toBe('CopyGoCopyabc')
  })

  test('bidirectional overrides are removed, so text reads in the order it runs', () => {
    const html = renderMarkdown(
      '[\u202Egpj.exe](https://evil.example/x)\n\n```js\nlet admin = false /*\u202E } \u2066if (admin)\u2069 \u2066 begin admins only */\n```',
      { idPrefix: 'b' },
    )
    expect(parse(html).text).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/)
    expect(parse(html).text).toContain('gpj.exe')
  })
})

describe('images never load', () => {
  test('an image becomes a link naming its alt text, followed by its URL', () => {
    const url = 'https://evil.example/x.png?secret=AKIAIOSFODNN7EXAMPLE'
    const html = renderMarkdown(`Look: ![sales chart](${url} "t")`, { idPrefix: 'i' })
    expect(byTag(html, 'img')).toEqual([])
    const link = byTag(html, 'a')[0]!
    expect(attr(link, 'href')).toBe(url)
    expect(attr(link, 'class')).toBe('md-image')
    const { text } = parse(html)
    expect(text).toContain('Image: sales chart')
    expect(text).toContain(url)
  })

  test('reference-style and linked images become text and links, never a src', () => {
    const html = renderMarkdown('![logo][l] and [![badge](https://img.example/b.svg)](https://site.example/)\n\n[l]: https://evil.example/logo.png', {
      idPrefix: 'i',
    })
    expect(html).not.toMatch(/\ssrc\s*=/i)
    expect(byTag(html, 'a').map((a) => attr(a, 'href'))).toEqual(['https://evil.example/logo.png', 'https://site.example/'])
    expect(parse(html).text).toContain('Image: badge (https://img.example/b.svg)')
  })

  test('an image with a refused URL stays literal text', () => {
    const html = renderMarkdown('![x](data:image/png;base64,iVBORw0KGgo=)', { idPrefix: 'i' })
    expect(byTag(html, 'a')).toEqual([])
    expect(parse(html).text).toContain('![x](data:image/png;base64,iVBORw0KGgo=)')
  })
})

describe('code block ids', () => {
  const reply = '```js\na()\n```\n\ntext\n\n```py\nb()\n```\n\n    c()\n'

  test('are unique across replies with different prefixes, and every Copy button points at its code', () => {
    const page = renderMarkdown(reply, { idPrefix: 'm1' }) + renderMarkdown(reply, { idPrefix: 'm2' })
    const ids = byTag(page, 'code').map((el) => attr(el, 'id'))
    expect(ids).toEqual(['m1-code-1', 'm1-code-2', 'm1-code-3', 'm2-code-1', 'm2-code-2', 'm2-code-3'])
    expect(byTag(page, 'button').map((b) => attr(b, 'data-copy-target'))).toEqual(ids)
    expect(violations(page, 'm[12]')).toEqual([])
  })

  test('without a prefix, each render still gets ids of its own', () => {
    const first = byTag(renderMarkdown(reply), 'code').map((el) => attr(el, 'id'))
    const second = byTag(renderMarkdown(reply), 'code').map((el) => attr(el, 'id'))
    expect(new Set([...first, ...second]).size).toBe(6)
  })

  test('a prefix that is not a safe id start is refused', () => {
    expect(() => renderMarkdown('x', { idPrefix: '1abc' })).toThrow(TypeError)
    expect(() => renderMarkdown('x', { idPrefix: 'a" onclick="x' })).toThrow(TypeError)
  })
})

describe('streaming text and plain text', () => {
  test('streaming text is escaped, never parsed', () => {
    expect(renderStreamingText('# Hi <script>alert("x")</script> & **b** \'q\'')).toBe(
      '# Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; **b** &#39;q&#39;',
    )
    expect(parse(renderStreamingText('<img src=x onerror=alert(1)>')).elements).toEqual([])
  })

  test('plain text keeps the words and drops the markup', () => {
    const text = markdownToPlainText('# Title\n\nSome **bold** [link](https://x.example) and ![alt](https://i.example/a.png)\n\n```js\nlet a = 1\n```')
    expect(text).toBe('Title\nSome bold link and alt\nlet a = 1')
  })
})

/** A reply of the kind a model writes: prose, a list, a table, two code blocks. About 2 KB. */
function typicalReply(n: number): string {
  return `## Step ${n}: reading the file

To read a file line by line in **Node.js**, use \`readline\` with a stream; it keeps memory flat
even for large files. See [the docs](https://nodejs.org/api/readline.html) for details. Reading the
whole file with \`readFile\` and splitting on newlines is simpler, and fine for small files, but it
holds every byte in memory at once, and a multi-gigabyte log would exhaust the heap. The stream
version reads in chunks of 64 KiB by default and hands you one line at a time, so the memory used
stays the same whatever the size of the file. It is also *cancellable*: break out of the loop and
the stream is closed for you.

1. Open a read stream with \`fs.createReadStream\`.
2. Wrap it in \`readline.createInterface\`.
3. Iterate with \`for await\`:
   - each iteration yields one line,
   - without the trailing newline.

\`\`\`ts
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'

export async function countLines(path: string): Promise<number> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity })
  let count = ${n}
  for await (const _line of lines) count++
  return count
}
\`\`\`

| Approach | Memory | Speed |
|:---------|:------:|------:|
| readFile | O(n) | fast |
| readline | O(1) | good |

> Note: on Windows files, \`crlfDelay: Infinity\` treats \\r\\n as one break. Without it, a
> carriage return and a line feed that arrive in different chunks count as two line breaks.

The same in Python, where the file object is already an iterator of lines:

\`\`\`
def count_lines(path):
    with open(path) as f:
        return sum(1 for _ in f)
\`\`\`

Both versions count a final line without a trailing newline, which is what \`wc -l\` does *not* do:
keep that in mind when you compare the numbers. If you need the lines themselves rather than a
count, collect them in an array inside the loop, or better, process each one as it arrives.
Want me to add error handling for a missing file (\`ENOENT\`) as well? It is a two-line change:
wrap the loop in \`try\` and check \`err.code\` in the \`catch\`.
`
}

describe('speed', () => {
  test('a typical 2 KB reply and a 50 KB reply render quickly (times printed)', () => {
    const small = typicalReply(1)
    const large = Array.from({ length: Math.ceil(50_000 / small.length) }, (_, i) => typicalReply(i)).join('\n')
    for (let i = 0; i < 20; i++) renderMarkdown(small, { idPrefix: 'w' }) // warm up the JIT
    const runs = 200
    let started = performance.now()
    for (let i = 0; i < runs; i++) renderMarkdown(small, { idPrefix: 'w' })
    const smallMs = (performance.now() - started) / runs
    started = performance.now()
    const html = renderMarkdown(large, { idPrefix: 'big' })
    const largeMs = performance.now() - started
    console.log(
      `[markdown] ${(small.length / 1024).toFixed(1)} KB reply: ${smallMs.toFixed(2)} ms per render (mean of ${runs}); ${(large.length / 1024).toFixed(1)} KB reply: ${largeMs.toFixed(1)} ms`,
    )
    expect(small.length).toBeGreaterThan(2048)
    expect(large.length).toBeGreaterThan(50_000)
    expect(byTag(html, 'button').length).toBe(2 * Math.ceil(50_000 / small.length))
    expect(violations(html, 'big')).toEqual([])
  })
})

// In a real browser: the whole corpus on one page with no CSP to hide behind (a slip would run and
// show as a dialog or a request to another host), then the Copy buttons under the app's CSP.
describe.skipIf(skipBrowserTests)('in Chromium', () => {
  const PUBLIC = join(import.meta.dir, '..', 'public')
  const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'"
  let browser: Browser | undefined
  let server: ReturnType<typeof Bun.serve> | undefined

  const page = (body: string) =>
    `<!doctype html><html><head><meta charset="utf-8"><title>t</title><link rel="stylesheet" href="/public/markdown.css"><script src="/public/copy.js" defer></script></head><body>${body}</body></html>`

  const start = async () => {
    const corpus = hostileOutputs.map((h, i) => `<div class="md-reply">${renderMarkdown(h.markdown, { idPrefix: `h${i}` })}</div>`).join('\n')
    const reply = renderMarkdown('Intro *text*.\n\n```js\nconst a = "<b>" // x\n```\n\n```\nplain  spaced\n```', { idPrefix: 'm1' })
    server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch(req) {
        const path = new URL(req.url).pathname
        if (path === '/corpus') return new Response(page(corpus), { headers: { 'content-type': 'text/html' } })
        if (path === '/reply') {
          const body = `<div id="reply-1" class="md-reply">${reply}</div><button type="button" data-copy-text-of="#reply-1">Copy</button>`
          return new Response(page(body), { headers: { 'content-type': 'text/html', 'content-security-policy': CSP } })
        }
        if (path === '/favicon.ico') return new Response(null, { status: 204 })
        if (path.startsWith('/public/')) return new Response(Bun.file(join(PUBLIC, path.slice('/public/'.length))))
        return new Response('not found', { status: 404 })
      },
    })
    browser = await launchBrowser()
    return `http://127.0.0.1:${server.port}`
  }

  afterAll(async () => {
    await browser?.close()
    await server?.stop(true)
  })

  test('nothing in the corpus runs, loads or navigates; Copy buttons copy and say so, under the CSP', async () => {
    const origin = await start()
    const context = await browser!.newContext()
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin })
    const tab = await context.newPage()
    const problems: PageProblem[] = []
    await watchProblems(context, tab, 'markdown', problems)
    const dialogs: string[] = []
    const foreign: string[] = []
    tab.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    context.on('request', (request) => {
      if (!request.url().startsWith(origin)) foreign.push(request.url())
    })

    await tab.goto(`${origin}/corpus`)
    await tab.waitForLoadState('networkidle')
    expect(await tab.evaluate(() => document.querySelectorAll('img, iframe, script:not([src]), svg, form, style, [style]').length)).toBe(0)
    expect(await tab.evaluate(() => location.pathname)).toBe('/corpus')

    await tab.goto(`${origin}/reply`)
    await tab.click('button[data-copy-target="m1-code-1"]')
    // the clipboard write is asynchronous: the button says so once it has finished
    await tab.waitForFunction(() => document.querySelector('button[data-copy-target="m1-code-1"]')?.textContent === 'Copied', undefined, { timeout: 2000 })
    expect(await tab.evaluate(() => navigator.clipboard.readText())).toBe('const a = "<b>" // x')
    await tab.click('button[data-copy-target="m1-code-2"]')
    expect(await tab.evaluate(() => navigator.clipboard.readText())).toBe('plain  spaced')
    await tab.click('button[data-copy-text-of="#reply-1"]')
    const whole = await tab.evaluate(() => navigator.clipboard.readText())
    expect(whole).toContain('Intro text.')
    expect(whole).toContain('const a = "<b>" // x')
    await tab.waitForFunction(() => document.querySelector('button[data-copy-target="m1-code-1"]')?.textContent === 'Copy', undefined, { timeout: 4000 })

    expect({ dialogs, foreign, problems }).toEqual({ dialogs: [], foreign: [], problems: [] })
    await context.close()
  }, 20_000)
})
