import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseFragment } from 'parse5'
import { browser, type Emulator, makeApp, parseSse, readUntil, streamedPieces, TEST_STORE, type TestApp, unescapeHtml, unique, useApp } from './helpers.ts'
import { testDatabase } from './support/postgres.ts'
import { concat, fixture, pdf, png } from './fixtures/attachments/build.ts'

/** A model with extended thinking on a budget (the default model thinks adaptively). */
const SONNET_45 = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'

/**
 * Conversations as a person uses them: the sidebar list, titles, rename, delete, settings,
 * Regenerate / Retry / Edit / Stop, reply details, Markdown, attachments, search, long
 * conversations and every form without JavaScript. All in process, through the real AWS SDK to
 * the Bedrock emulator.
 */

let emulator: Emulator
let t: TestApp
useApp((app) => {
  t = app
  emulator = app.emulator
})

type Browser = ReturnType<typeof browser>
type Block = {
  text?: string
  image?: { format: string; source: { bytes: string } }
  document?: { format: string; name: string; source: { bytes: string } }
}
type ConverseBody = {
  messages: { role: string; content: Block[] }[]
  system?: { text: string }[]
  inferenceConfig?: { maxTokens?: number; temperature?: number }
  additionalModelRequestFields?: { thinking?: { type: string; budget_tokens: number } }
}

const ORIGIN = 'http://localhost'

const bodyOf = (r: { body: unknown }) => r.body as ConverseBody
const textOf = (m: { content: Block[] }) => m.content.map((b) => b.text ?? '').join('')
/** Requests whose newest user message contains `marker` (the message that asked for the reply). */
function requestsFor(marker: string) {
  return emulator.requests.filter((r) => {
    const users = bodyOf(r).messages?.filter((m) => m.role === 'user') ?? []
    return users.length > 0 && textOf(users.at(-1)!).includes(marker)
  })
}
function lastRequestFor(marker: string): ConverseBody {
  const found = requestsFor(marker).at(-1)
  expect(found).toBeDefined()
  return bodyOf(found!)
}

/** Every message of a thread as the page shows it, in order. */
function articles(html: string): string[] {
  return html.match(/<article class="msg [\s\S]*?<\/article>/g) ?? []
}
function assistantArticles(html: string) {
  return articles(html).filter((a) => a.startsWith('<article class="msg assistant'))
}
function userArticles(html: string) {
  return articles(html).filter((a) => a.startsWith('<article class="msg user"'))
}
function userTexts(html: string) {
  return userArticles(html).map((a) => unescapeHtml(a.match(/<div class="msg-text">([\s\S]*?)<\/div>/)![1]!))
}
const idOf = (article: string) => article.match(/ id="m-([\w-]+)"/)![1]!
/** The reply as the stream's last message shows it (the event-stream framing taken off). */
function finalBubble(body: string) {
  const html = parseSse(body)
    .messages.map((m) => m.data)
    .join('\n')
  return assistantArticles(html).at(-1) ?? ''
}
/** The sidebar's list: [href, title] in order. */
function sidebar(html: string): { href: string; title: string }[] {
  const nav = html.match(/<nav id="conversation-list"[\s\S]*?<\/nav>/)?.[0] ?? ''
  return [...nav.matchAll(/<a href="(\/c\/[\w-]+)"[^>]*><span class="title">([\s\S]*?)<\/span>/g)].map((m) => ({
    href: m[1]!,
    title: unescapeHtml(m[2]!),
  }))
}
async function pageOf(you: Browser, path: string) {
  const res = await you.get(path)
  return { status: res.status, html: await res.text() }
}
async function conversationRow(path: string) {
  return (await t.sql('select * from conversations where id = ?', path.replace('/c/', '')))[0] ?? null
}
async function count(sql: string, ...params: string[]) {
  return (await t.sql<{ n: number }>(sql, ...params))[0]!.n
}

/** A file as a browser's file input gives it. */
function fileOf(content: Uint8Array | string, name: string, options: { type?: string } = {}) {
  return new File([typeof content === 'string' ? content : new Uint8Array(content)], name, options)
}

/** Posts the composer with files, as the page's htmx form does (multipart), and reads the whole answer. */
async function sendFiles(you: Browser, path: string, message: string, files: File[], options: { htmx?: boolean } = {}) {
  if (!you.cookie) await you.get('/')
  const form = new FormData()
  form.append('message', message)
  for (const file of files) form.append('files', file)
  const headers: Record<string, string> = { Cookie: you.cookie, Origin: ORIGIN }
  if (options.htmx !== false) Object.assign(headers, { 'HX-Request': 'true', 'HX-Request-Type': 'partial' })
  const res = await t.app.request(ORIGIN + path, { method: 'POST', headers, body: form, redirect: 'manual' })
  const body = await res.text()
  const conversation = body.match(/data-post="(\/c\/[\w-]+)\/messages"/)?.[1]
  if (conversation) you.open(conversation)
  return { res, body, conversation, ...parseSse(body) }
}

const SETTINGS = { systemPrompt: '', temperature: '0.7', maxTokens: '2048' }

describe('the conversation list', () => {
  test('conversations survive a restart: the same browser sees the same list and thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bedrock-chat-restart-'))
    const env = { METRICS_DB_PATH: join(dir, 'metrics', 'metrics.db'), LOG_DIR: join(dir, 'logs') }
    // on PostgreSQL the two servers share a database instead of the file
    const kept = TEST_STORE === 'postgres' ? await testDatabase() : undefined
    try {
      const first = await makeApp({ emulator, env, databaseUrl: kept?.url })
      const you = browser(first.app)
      const one = unique('Remember this across a restart')
      const two = unique('And this second message')
      await you.send(one)
      await you.send(two)
      const path = you.conversation!
      you.newChat()
      await you.send(unique('Another conversation'))
      const before = await (await you.get(path)).text()
      expect(userTexts(before)).toEqual([one, two])
      // the server stops: replies aborted, database closed (close() removes only makeApp's own empty folder)
      await first.close()
      if (!kept) expect(existsSync(env.METRICS_DB_PATH)).toBe(true)

      const second = await makeApp({ emulator, env, databaseUrl: kept?.url })
      try {
        const get = (p: string) => second.app.request(ORIGIN + p, { headers: { Cookie: you.cookie } })
        const res = await get(path)
        expect(res.status).toBe(200)
        const after = await res.text()
        expect(sidebar(after)).toHaveLength(2)
        expect(sidebar(after)).toEqual(sidebar(before))
        expect(articles(after)).toEqual(articles(before))
        expect(assistantArticles(after).every((a) => a.includes('data-status="done"'))).toBe(true)
        // and the conversation goes on where it stopped, with its whole history
        const three = unique('Third message after the restart')
        const next = await second.app.request(ORIGIN + path + '/messages', {
          method: 'POST',
          headers: { Cookie: you.cookie, Origin: ORIGIN, 'HX-Request': 'true' },
          body: new URLSearchParams({ message: three }),
        })
        expect(next.status).toBe(200)
        await next.text()
        expect(
          lastRequestFor(three)
            .messages.filter((m) => m.role === 'user')
            .map(textOf),
        ).toEqual([one, two, three])
        // a browser without the cookie sees none of it
        const stranger = await second.app.request(ORIGIN + '/')
        expect(sidebar(await stranger.text())).toEqual([])
      } finally {
        await second.close()
      }
    } finally {
      await kept?.drop()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('the sidebar lists conversations newest first, and a conversation used again moves to the top', async () => {
    const you = browser(t.app)
    const paths: string[] = []
    for (const word of ['Alpha', 'Bravo', 'Charlie']) {
      you.newChat()
      await you.send(unique(`${word} topic`))
      paths.push(you.conversation!)
    }
    const { html } = await pageOf(you, '/')
    expect(sidebar(html).map((c) => c.href)).toEqual([paths[2]!, paths[1]!, paths[0]!])
    expect(sidebar(html).map((c) => c.title.replace(/ #\w+$/, ''))).toEqual(['Charlie topic', 'Bravo topic', 'Alpha topic'])
    you.open(paths[0]!)
    await you.send('Back to alpha')
    expect(sidebar((await pageOf(you, '/')).html).map((c) => c.href)).toEqual([paths[0]!, paths[2]!, paths[1]!])
    // the open conversation is marked in the list
    expect((await pageOf(you, paths[1]!)).html).toContain(`<a href="${paths[1]}" aria-current="page">`)
  })

  test('a title comes from the first message: directives and extra spaces dropped, a long one cut at a word with …', async () => {
    const you = browser(t.app)
    await you.send('Could you help me plan a week-long walking holiday in the Scottish Highlands for my family next spring?')
    const long = you.conversation!
    you.newChat()
    await you.send('[[slow:1]]  Short   and\nsweet')
    const short = you.conversation!
    you.open(long)
    await you.send('A later message does not rename it')
    const { html } = await pageOf(you, long)
    expect(html).toContain('<h2 id="chat-title">Could you help me plan a week-long walking holiday in the…</h2>')
    expect(html).toContain('<title>Could you help me plan a week-long walking holiday in the… · Bedrock Chat</title>')
    expect(sidebar(html)).toEqual([
      { href: long, title: 'Could you help me plan a week-long walking holiday in the…' },
      { href: short, title: 'Short and sweet' },
    ])
  })

  test('the first reply of a new chat puts the conversation in the list and the title in the header as it streams', async () => {
    const you = browser(t.app)
    const text = unique('Streaming title')
    const { messages } = await you.send(text)
    const start = messages[0]!.data
    expect(start).toContain('<hx-partial hx-target="#conversation-list" hx-swap="outerHTML">')
    expect(start).toContain(`<a href="${you.conversation}" aria-current="page"><span class="title">${text}</span>`)
    expect(start).toContain(`<hx-partial hx-target="#chat-title" hx-swap="innerHTML">${text}</hx-partial>`)
  })

  test('Rename changes the title in the header and the list (htmx fragment), or redirects (303) without JavaScript', async () => {
    const you = browser(t.app)
    await you.send(unique('Original title'))
    const path = you.conversation!
    const res = await you.post(`${path}/rename`, { title: '  Trip <planning> & notes  ' }, { htmx: true })
    expect(res.status).toBe(200)
    const fragment = await res.text()
    expect(fragment).not.toContain('<!DOCTYPE')
    expect(fragment).toContain('<hx-partial hx-target="#chat-header" hx-swap="outerHTML">')
    expect(fragment).toContain('<h2 id="chat-title">Trip &lt;planning&gt; &amp; notes</h2>')
    expect(fragment).toContain('<hx-partial hx-target="#conversation-list" hx-swap="outerHTML">')
    expect(sidebar(fragment)).toEqual([{ href: path, title: 'Trip <planning> & notes' }])
    expect(fragment).toContain('value="Trip &lt;planning&gt; &amp; notes"')

    const plain = await you.post(`${path}/rename`, { title: 'Renamed without scripts' })
    expect(plain.status).toBe(303)
    expect(plain.headers.get('location')).toBe(path)
    const { html } = await pageOf(you, path)
    expect(html).toContain('<h2 id="chat-title">Renamed without scripts</h2>')
    expect(sidebar(html)[0]!.title).toBe('Renamed without scripts')
  })

  test('an empty or too long title is refused with 422 and a message, and the title stays', async () => {
    const you = browser(t.app)
    await you.send(unique('Keep this title'))
    const path = you.conversation!
    const title = (await conversationRow(path))!['title']

    const empty = await you.post(`${path}/rename`, { title: '   ' }, { htmx: true })
    expect(empty.status).toBe(422)
    expect(await empty.text()).toContain('Type a title.')
    const missing = await you.post(`${path}/rename`, {}, { htmx: true })
    expect(missing.status).toBe(422)
    expect(await missing.text()).toContain('Type a title.')
    const long = await you.post(`${path}/rename`, { title: 'x'.repeat(81) })
    expect(long.status).toBe(422)
    const page = await long.text()
    expect(page).toStartWith('<!DOCTYPE html>')
    expect(page).toContain('A title can be at most 80 characters.')

    expect((await conversationRow(path))!['title']).toBe(title)
    expect((await pageOf(you, path)).html).toContain(`<h2 id="chat-title">${title}</h2>`)
  })
})

describe('deleting a conversation', () => {
  test('Delete removes the conversation, its messages (also from search) and its files', async () => {
    const you = browser(t.app)
    const word = `zebrafinch${crypto.randomUUID().slice(0, 6)}`
    const sent = await sendFiles(you, '/c/new/messages', `Tell me about ${word} songs`, [fileOf(png(4, 3), 'song.png', { type: 'image/png' })])
    expect(sent.res.status).toBe(200)
    const path = sent.conversation!
    const page = (await pageOf(you, path)).html
    const fileUrl = page.match(/<img src="(\/c\/[\w-]+\/attachments\/[\w-]+)"/)![1]!
    expect((await you.get(fileUrl)).status).toBe(200)
    expect(await (await you.get(`/search?q=${word}`, { htmx: true })).text()).toContain(`href="${path}"`)

    // without JavaScript, Delete is a link to a confirmation page
    const confirm = await pageOf(you, `${path}/delete`)
    expect(confirm.status).toBe(200)
    expect(confirm.html).toStartWith('<!DOCTYPE html>')
    expect(unescapeHtml(confirm.html)).toContain(`Delete “Tell me about ${word} songs”?`)
    expect(confirm.html).toContain(`<form method="post" action="${path}/delete">`)
    expect(confirm.html).toContain(`<a href="${path}">Cancel</a>`)
    expect((await pageOf(you, path)).status).toBe(200) // looking at the confirmation deletes nothing

    const res = await you.post(`${path}/delete`, {}, { htmx: true })
    expect(res.status).toBe(204)
    expect(res.headers.get('hx-redirect')).toBe('/')

    expect((await pageOf(you, path)).status).toBe(404)
    expect((await pageOf(you, path)).html).toContain('Conversation not found')
    expect((await you.get(fileUrl)).status).toBe(404)
    expect(sidebar((await pageOf(you, '/')).html)).toEqual([])
    const search = await (await you.get(`/search?q=${word}`, { htmx: true })).text()
    expect(search).not.toContain(path)
    expect(unescapeHtml(search)).toContain(`Nothing found for “${word}”.`)
    const id = path.replace('/c/', '')
    expect(await count('select count(*) as n from messages where conversation_id = ?', id)).toBe(0)
    expect(await count('select count(*) as n from attachments where id = ?', fileUrl.split('/').pop()!)).toBe(0)
    // SQLite's search has its own table; PostgreSQL's searches the messages themselves (their index)
    if (t.store === 'sqlite') expect(await count('select count(*) as n from messages_fts where messages_fts match ?', `"${word}"`)).toBe(0)
    // deleting again, or posting to it, finds nothing
    expect((await you.post(`${path}/delete`, {}, { htmx: true })).status).toBe(404)
    expect((await you.post(`${path}/messages`, { message: 'hello?' }, { htmx: true })).status).toBe(404)
  })

  test('without JavaScript, the confirmation form deletes and redirects home (303)', async () => {
    const you = browser(t.app)
    await you.send(unique('Delete me without scripts'))
    const path = you.conversation!
    const res = await you.post(`${path}/delete`, {})
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/')
    expect((await pageOf(you, path)).status).toBe(404)
  })
})

describe("another browser's conversation", () => {
  test('is 404 at every address, and nothing changes in the owner’s conversation', async () => {
    const owner = browser(t.app)
    const sent = await sendFiles(owner, '/c/new/messages', unique('Private matters'), [fileOf(png(2, 2), 'private.png', { type: 'image/png' })])
    const path = sent.conversation!
    await owner.post(`${path}/settings`, { ...SETTINGS, systemPrompt: 'Owner prompt' })
    const before = (await pageOf(owner, path)).html
    const row = await conversationRow(path)
    const fileUrl = before.match(/<img src="(\/c\/[\w-]+\/attachments\/[\w-]+)"/)![1]!
    const other = browser(t.app)
    await other.send(unique('My own chat'))
    const requestsBefore = emulator.requests.length
    const attempts: [string, Promise<Response>][] = [
      ['page', other.get(path)],
      ['file', other.get(fileUrl)],
      ['confirm delete', other.get(`${path}/delete`)],
      ['message', other.post(`${path}/messages`, { message: 'injected' }, { htmx: true })],
      ['message without JS', other.post(`${path}/messages`, { message: 'injected' })],
      ['rename', other.post(`${path}/rename`, { title: 'Hijacked' }, { htmx: true })],
      ['delete', other.post(`${path}/delete`, {}, { htmx: true })],
      ['delete without JS', other.post(`${path}/delete`, {})],
      ['settings', other.post(`${path}/settings`, { ...SETTINGS, systemPrompt: 'Hijacked' }, { htmx: true })],
      ['invalid settings', other.post(`${path}/settings`, { ...SETTINGS, temperature: '9' }, { htmx: true })],
      ['regenerate', other.post(`${path}/regenerate`, {}, { htmx: true })],
      ['edit', other.post(`${path}/edit`, { message: 'Hijacked' }, { htmx: true })],
    ]
    for (const [what, pending] of attempts) {
      const res = await pending
      expect({ what, status: res.status }).toEqual({ what, status: 404 })
      expect(await res.text()).not.toContain('Private matters')
    }
    expect(emulator.requests.length).toBe(requestsBefore)
    expect(await conversationRow(path)).toEqual(row)
    const after = (await pageOf(owner, path)).html
    expect(articles(after)).toEqual(articles(before))
    expect(after).toContain('Owner prompt')
    expect((await owner.get(fileUrl)).status).toBe(200)
    // and neither list nor search shows the other's conversation
    expect(sidebar((await pageOf(other, '/')).html).map((c) => c.href)).not.toContain(path)
    expect(await (await other.get('/search?q=Private', { htmx: true })).text()).not.toContain(path)
  })
})

describe('settings for a conversation', () => {
  test('saved settings are used by the next request: system prompt, temperature, max tokens', async () => {
    const you = browser(t.app)
    await you.send(unique('Before settings'))
    const path = you.conversation!
    const res = await you.post(`${path}/settings`, { systemPrompt: '  Answer like a pirate.  ', temperature: '0.3', maxTokens: '777' }, { htmx: true })
    expect(res.status).toBe(200)
    const panel = await res.text()
    expect(panel).toStartWith('<section class="panel" id="settings"')
    expect(panel).toContain('Saved. The next reply uses these settings.')
    expect(panel).toContain('>Answer like a pirate.</textarea>')
    expect(panel).toContain('name="temperature" type="number" min="0" max="1" step="0.1" value="0.3"')
    expect(panel).toContain('value="777"')

    const text = unique('After settings')
    await you.send(text)
    const body = lastRequestFor(text)
    expect(body.system).toEqual([{ text: 'Answer like a pirate.' }])
    expect(body.inferenceConfig).toEqual({ maxTokens: 777, temperature: 0.3 })
    expect(body.additionalModelRequestFields).toBeUndefined()
    // the page shows the saved values
    const { html } = await pageOf(you, path)
    expect(html).toContain('>Answer like a pirate.</textarea>')
    expect(html).toContain('id="max-tokens" name="maxTokens" type="number" min="1" max="64000" step="1" value="777"')
  })

  test('out-of-range values are refused with 422 and a clear message, and nothing changes', async () => {
    const you = browser(t.app)
    await you.send(unique('Settings refusals'), { modelId: SONNET_45 })
    const path = you.conversation!
    const good = { systemPrompt: 'Be brief.', temperature: '0.4', maxTokens: '900' }
    expect((await you.post(`${path}/settings`, good, { htmx: true })).status).toBe(200)
    const saved = await conversationRow(path)

    const cases: [Record<string, string>, string][] = [
      [{ temperature: '1.5' }, 'Temperature must be a number from 0 to 1.'],
      [{ temperature: '-1' }, 'Temperature must be a number from 0 to 1.'],
      [{ temperature: 'abc' }, 'Temperature must be a number from 0 to 1.'],
      [{ maxTokens: '0' }, 'Max tokens must be a whole number from 1 to 200,000.'],
      [{ maxTokens: '1e9' }, 'Max tokens must be a whole number from 1 to 200,000.'],
      [{ maxTokens: '2.5' }, 'Max tokens must be a whole number from 1 to 200,000.'],
      [{ maxTokens: '100000' }, 'Max tokens for Claude Sonnet 4.5 can be at most 64,000.'],
      [{ thinking: 'on', thinkingBudget: '10' }, 'The thinking budget must be a whole number from 1,024 to 128,000.'],
    ]
    for (const [change, message] of cases) {
      const res = await you.post(`${path}/settings`, { ...good, systemPrompt: 'Changed?', ...change }, { htmx: true })
      const html = unescapeHtml(await res.text())
      expect({ change, status: res.status }).toEqual({ change, status: 422 })
      expect(html).toContain(`<p class="notice error" role="alert">${message}</p>`)
      expect(html).toContain('<details open="">')
    }
    // without JavaScript: the page again, with the message, status 422
    const plain = await you.post(`${path}/settings`, { ...good, temperature: '1.5' })
    expect(plain.status).toBe(422)
    const page = await plain.text()
    expect(page).toStartWith('<!DOCTYPE html>')
    expect(page).toContain('Temperature must be a number from 0 to 1.')

    expect(await conversationRow(path)).toEqual(saved)
    const text = unique('Still the saved settings')
    await you.send(text)
    const body = lastRequestFor(text)
    expect(body.system).toEqual([{ text: 'Be brief.' }])
    expect(body.inferenceConfig).toEqual({ maxTokens: 900, temperature: 0.4 })
  })

  test('thinking on sends a budget, omits temperature and asks for more max tokens than the budget', async () => {
    const you = browser(t.app)
    await you.send(unique('Think about it'), { modelId: SONNET_45 })
    const path = you.conversation!
    const res = await you.post(`${path}/settings`, { temperature: '0.3', maxTokens: '1000', thinking: 'on', thinkingBudget: '2048' }, { htmx: true })
    expect(res.status).toBe(200)
    const panel = await res.text()
    expect(panel).toContain('name="thinking" value="on" checked=""')
    expect(panel).toContain('id="thinking-budget" name="thinkingBudget" type="number" min="1024" step="256" value="2048"')

    const text = unique('Now with thinking')
    await you.send(text)
    const body = lastRequestFor(text)
    expect(body.additionalModelRequestFields).toEqual({ thinking: { type: 'enabled', budget_tokens: 2048 } })
    expect(body.inferenceConfig?.temperature).toBeUndefined()
    expect(body.inferenceConfig!.maxTokens!).toBeGreaterThan(2048)

    // and off again: no thinking, the temperature is back
    await you.post(`${path}/settings`, { temperature: '0.3', maxTokens: '1000', thinkingBudget: '2048' }, { htmx: true })
    const off = unique('Thinking off')
    await you.send(off)
    expect(lastRequestFor(off).additionalModelRequestFields).toBeUndefined()
    expect(lastRequestFor(off).inferenceConfig).toEqual({ maxTokens: 1000, temperature: 0.3 })
  })

  test('a thinking budget the model cannot give (over its max output) is refused, not saved to fail later', async () => {
    const you = browser(t.app)
    await you.send(unique('Big budget'), { modelId: SONNET_45 })
    const path = you.conversation!
    const saved = await conversationRow(path)
    // Claude Sonnet 4.5 writes at most 64,000 tokens, and the budget must stay below max tokens
    const res = await you.post(`${path}/settings`, { temperature: '0.5', maxTokens: '2048', thinking: 'on', thinkingBudget: '100000' }, { htmx: true })
    const html = unescapeHtml(await res.text())
    expect(res.status).toBe(422)
    expect(html).toMatch(/<p class="notice error" role="alert">[^<]*thinking budget[^<]*<\/p>/i)
    expect(await conversationRow(path)).toEqual(saved)
  })

  test("the model's reasoning shows in a collapsed Thinking block, apart from the answer", async () => {
    const you = browser(t.app)
    const text = unique('[[reasoning]] Why is the sky blue?')
    const { body, messages } = await you.send(text)
    // while streaming, the Thinking block is put in place before the answer
    const firstThought = messages.find((m) => m.data.includes('class="thinking"'))!.data
    expect(firstThought).toContain('<summary>Thinking</summary>')
    for (const html of [finalBubble(body), assistantArticles((await pageOf(you, you.conversation!)).html)[0]!]) {
      const id = idOf(html)
      const thinking = html.match(
        /<details class="thinking" id="m-[\w-]+-thinking-box"><summary>Thinking<\/summary><div class="thinking-text" id="m-[\w-]+-thinking">([\s\S]*?)<\/div><\/details>/,
      )
      expect(thinking).not.toBeNull()
      expect(unescapeHtml(thinking![1]!)).toContain('I am the Bedrock emulator, so I will think briefly')
      const answer = html.match(new RegExp(`<div class="msg-text md-reply" id="m-${id}-text">([\\s\\S]*?)</div>\\s*<p class="msg-status"`))![1]!
      expect(unescapeHtml(answer)).toContain('Emulated reply to: "Why is the sky blue?')
      expect(answer).not.toContain('think briefly')
    }
  })
})

describe('Regenerate, Retry, Edit and Stop', () => {
  test('Regenerate replaces the last reply: the thread keeps one reply, sent with the same history', async () => {
    const you = browser(t.app)
    const first = unique('First question')
    const second = unique('Second question')
    await you.send(first)
    const { body: sentBody } = await you.send(second)
    const path = you.conversation!
    const oldReply = idOf(finalBubble(sentBody))
    expect(sentBody).toContain('>Regenerate</button>')

    const res = await you.post(`${path}/regenerate`, {}, { htmx: true })
    expect(res.status).toBe(200)
    const body = await res.text()
    expect(body).toContain(`<hx-partial hx-target="#m-${oldReply}" hx-swap="delete"></hx-partial>`)
    expect(finalBubble(body)).toContain('data-status="done"')
    const newReply = idOf(finalBubble(body))
    expect(newReply).not.toBe(oldReply)

    const { html } = await pageOf(you, path)
    expect(userTexts(html)).toEqual([first, second])
    expect(assistantArticles(html).map(idOf)).toHaveLength(2)
    expect(assistantArticles(html).at(-1)).toContain(`id="m-${newReply}"`)
    expect(html).not.toContain(`m-${oldReply}`)
    const [original, again] = requestsFor(second)
    expect(requestsFor(second)).toHaveLength(2)
    expect(bodyOf(again!).messages).toEqual(bodyOf(original!).messages)
    expect(bodyOf(again!).messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user'])
  })

  test('Retry after an error answers without retyping', async () => {
    const you = browser(t.app)
    // fails three attempts (the SDK's limit); the attempt counter is keyed by body, so the retry's fourth succeeds
    const text = unique('[[throttle:3]] Busy right now')
    const { body } = await you.send(text)
    expect(finalBubble(body)).toContain('data-status="error"')
    expect(body).toContain('>Retry</button>')
    const path = you.conversation!
    const retry = await you.post(`${path}/regenerate`, {}, { htmx: true })
    const answer = await retry.text()
    expect(finalBubble(answer)).toContain('data-status="done"')
    expect(unescapeHtml(finalBubble(answer))).toContain('Emulated reply to: "Busy right now')
    const { html } = await pageOf(you, path)
    expect(userTexts(html)).toEqual([text])
    expect(assistantArticles(html)).toHaveLength(1)
    expect(assistantArticles(html)[0]).toContain('data-status="done"')
    expect(html).toContain('>Regenerate</button>')
    expect(requestsFor(text).map((r) => r.status)).toEqual([429, 429, 429, 200])
    expect(bodyOf(requestsFor(text).at(-1)!).messages.map(textOf)).toEqual([text])
  })

  test('Edit changes the last message and gets a new reply; the model receives the edited text', async () => {
    const you = browser(t.app)
    const first = unique('Keep this one')
    const typo = unique('What is the capital of Frence')
    const fixed = unique('What is the capital of France')
    await you.send(first)
    const { body: before } = await you.send(typo)
    const path = you.conversation!
    expect(unescapeHtml(before)).toContain(`>${typo}</textarea>`)
    const oldUser = idOf(userArticles((await pageOf(you, path)).html).at(-1)!)

    const res = await you.post(`${path}/edit`, { message: fixed }, { htmx: true })
    expect(res.status).toBe(200)
    const body = await res.text()
    expect(body).toContain(`<hx-partial hx-target="#m-${oldUser}" hx-swap="delete"></hx-partial>`)
    expect(finalBubble(body)).toContain('data-status="done"')
    expect(unescapeHtml(finalBubble(body))).toContain(`Emulated reply to: "${fixed}"`)

    const { html } = await pageOf(you, path)
    expect(userTexts(html)).toEqual([first, fixed])
    expect(assistantArticles(html)).toHaveLength(2)
    expect(unescapeHtml(html)).not.toContain('Frence')
    const sent = lastRequestFor(fixed)
    expect(sent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user'])
    expect(textOf(sent.messages[0]!)).toBe(first)
    expect(textOf(sent.messages[2]!)).toBe(fixed)
    expect(JSON.stringify(sent)).not.toContain('Frence')
    // an empty edit is refused
    const empty = await you.post(`${path}/edit`, { message: '  ' }, { htmx: true })
    expect(empty.status).toBe(422)
    expect(await empty.text()).toContain('Type the message to send.')
    expect(userTexts((await pageOf(you, path)).html)).toEqual([first, fixed])
  })

  test('Stop leaves the partial reply in place, marked stopped, and it is stored', async () => {
    const you = browser(t.app)
    await you.get('/')
    const text = unique('[[slow:80]] A long story')
    const res = await t.app.request(ORIGIN + '/c/new/messages', {
      method: 'POST',
      headers: { Cookie: you.cookie, Origin: ORIGIN, 'HX-Request': 'true' },
      body: new URLSearchParams({ message: text }),
    })
    const stream = await readUntil(res, (b) => streamedPieces(parseSse(b).messages).length >= 3)
    const replyId = stream.body.match(/\/replies\/([\w-]+)\/stop/)![1]!
    const path = stream.body.match(/data-post="(\/c\/[\w-]+)\/messages"/)![1]!
    expect((await you.post(`/replies/${replyId}/stop`, {}, { htmx: true })).status).toBe(204)
    const body = await stream.rest()
    const partial = streamedPieces(parseSse(body).messages).join('')
    expect(partial.length).toBeGreaterThan(0)
    expect(partial).not.toContain('word-sized pieces.') // the reply's last words never came
    const bubble = finalBubble(body)
    expect(bubble).toContain('data-status="stopped"')
    expect(bubble).toContain('Stopped.')

    const stored = assistantArticles((await pageOf(you, path)).html)
    expect(stored).toHaveLength(1)
    expect(stored[0]).toContain('data-status="stopped"')
    expect(stored[0]).toContain('Stopped.')
    expect(unescapeHtml(stored[0]!)).toContain(partial.trim())
    // the stopped reply can be regenerated
    expect(unescapeHtml((await pageOf(you, path)).html)).toContain('>Regenerate</button>')
  })
})

describe('a finished reply', () => {
  test("shows the model's name, latency, first token, tokens and cost, and a Copy button", async () => {
    const you = browser(t.app)
    const { body } = await you.send(unique('Details please'))
    for (const bubble of [finalBubble(body), assistantArticles((await pageOf(you, you.conversation!)).html)[0]!]) {
      const id = idOf(bubble)
      expect(bubble).toMatch(
        /<p class="msg-meta">Claude Sonnet 4\.6 · [\d,]+ ms · first token [\d,]+ ms · [1-9][\d,]* in \/ [1-9][\d,]* out tokens · ≈ \$\d+\.\d+<\/p>/,
      )
      expect(bubble).toContain(`<button type="button" class="secondary small" data-copy-text-of="#m-${id}-text">Copy</button>`)
      expect(bubble).toContain(`id="m-${id}-text"`)
    }
  })

  test('a model without a known price says the cost is unknown, never $0', async () => {
    const you = browser(t.app)
    const { body } = await you.send(unique('Custom model'), { modelId: 'custom', customModelId: 'my.custom-model-v1:0' })
    const meta = finalBubble(body).match(/<p class="msg-meta">([^<]*)<\/p>/)![1]!
    expect(meta).toStartWith('my.custom-model-v1:0 · ')
    expect(meta).toContain('cost unknown')
    expect(meta).not.toContain('$')
  })

  test('Markdown in a reply renders as a heading, a list and a highlighted code block with a Copy button', async () => {
    const you = browser(t.app)
    const marker = crypto.randomUUID().slice(0, 8)
    const { body } = await you.send(`[[echo]] # Title ${marker}\n\n- a\n- b\n\n\`\`\`js\nconst x = 1\n\`\`\``)
    for (const bubble of [finalBubble(body), assistantArticles((await pageOf(you, you.conversation!)).html)[0]!]) {
      expect(bubble).toContain(`<h1>Title ${marker}</h1>`)
      expect(bubble).toMatch(/<ul>\s*<li>a<\/li>\s*<li>b<\/li>\s*<\/ul>/)
      const code = bubble.match(
        /<button type="button" class="copy-code" data-copy-target="([\w-]+)">Copy<\/button>[\s\S]*?<pre><code id="([\w-]+)" class="hljs language-javascript">([\s\S]*?)<\/code><\/pre>/,
      )
      expect(code).not.toBeNull()
      expect(code![1]).toBe(code![2]!)
      expect(code![3]).toContain('<span class="hljs-keyword">const</span>')
      expect(code![3]).toContain('<span class="hljs-number">1</span>')
    }
  })

  test('hostile Markdown renders nothing active and loads no remote image', async () => {
    const you = browser(t.app)
    const hostile = '<script>alert(1)</script> <img src=x onerror=alert(2)> [link](javascript:alert(1)) ![img](https://evil.example/p.png)'
    const { body } = await you.send(`[[echo]] ${hostile}`)
    const stored = assistantArticles((await pageOf(you, you.conversation!)).html)[0]!
    for (const bubble of [finalBubble(body), stored]) {
      const elements = elementsOf(bubble)
      const tags = elements.map((e) => e.tagName)
      for (const tag of ['script', 'img', 'iframe', 'object', 'embed', 'form', 'input', 'style', 'svg']) expect(tags).not.toContain(tag)
      for (const element of elements) {
        for (const attr of element.attrs) {
          expect(attr.name).not.toMatch(/^on/)
          expect(attr.name).not.toMatch(/^hx-/)
          expect(attr.value).not.toMatch(/^\s*javascript:/i)
          if (attr.name === 'src') expect(attr.value).not.toContain('evil.example')
        }
      }
      // the words are still there, as text
      const text = unescapeHtml(bubble)
      expect(text).toContain('<script>alert(1)</script>')
      expect(text).toContain('https://evil.example/p.png')
    }
  })
})

type HtmlNode = { tagName?: string; attrs?: { name: string; value: string }[]; childNodes?: HtmlNode[]; content?: HtmlNode }
type HtmlElement = HtmlNode & { tagName: string; attrs: { name: string; value: string }[] }
/** Every element of an HTML fragment, as a browser's parser builds them (parse5). */
function elementsOf(html: string): HtmlElement[] {
  const out: HtmlElement[] = []
  const walk = (node: HtmlNode) => {
    if (node.tagName) out.push(node as HtmlElement)
    for (const child of node.childNodes ?? []) walk(child)
    if (node.content) walk(node.content)
  }
  walk(parseFragment(html) as unknown as HtmlNode)
  return out
}

describe('attachments', () => {
  test('a PNG and a PDF are sent to the model as image and document blocks and shown in the thread', async () => {
    const you = browser(t.app)
    const image = png(4, 3)
    const document = pdf(2)
    const text = unique('What is in these?')
    const { res, body, conversation } = await sendFiles(you, '/c/new/messages', text, [
      fileOf(image, 'chart.png', { type: 'image/png' }),
      fileOf(document, 'Quarterly report.pdf', { type: 'application/pdf' }),
    ])
    expect(res.status).toBe(200)
    expect(finalBubble(body)).toContain('data-status="done"')

    const content = lastRequestFor(text).messages.at(-1)!.content
    // files first, then the text, then (the image alone passes the model's caching minimum) a cache point
    expect(content).toHaveLength(4)
    expect(content[3] as unknown).toEqual({ cachePoint: { type: 'default' } })
    expect(content[0]!.image?.format).toBe('png')
    expect(Buffer.from(content[0]!.image!.source.bytes, 'base64')).toEqual(Buffer.from(image))
    expect(content[1]!.document?.format).toBe('pdf')
    expect(content[1]!.document?.name).toBe('Quarterly report')
    expect(Buffer.from(content[1]!.document!.source.bytes, 'base64')).toEqual(Buffer.from(document))
    expect(content[2]!.text).toBe(text)

    const { html } = await pageOf(you, conversation!)
    const imageUrl = html.match(/<img src="(\/c\/[\w-]+\/attachments\/[\w-]+)" alt="chart.png"/)?.[1]
    const pdfUrl = html.match(/<a href="(\/c\/[\w-]+\/attachments\/[\w-]+)" download="Quarterly report.pdf">/)?.[1]
    expect(imageUrl).toStartWith(`${conversation}/attachments/`)
    expect(pdfUrl).toStartWith(`${conversation}/attachments/`)

    const served = await you.get(imageUrl!)
    expect(served.status).toBe(200)
    expect(served.headers.get('content-type')).toBe('image/png')
    expect(served.headers.get('content-disposition')).toStartWith('inline')
    expect(served.headers.get('x-content-type-options')).toBe('nosniff')
    expect(Buffer.from(await served.arrayBuffer())).toEqual(Buffer.from(image))
    const download = await you.get(pdfUrl!)
    expect(download.status).toBe(200)
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename*=UTF-8''Quarterly%20report.pdf`)
    expect(download.headers.get('content-type')).not.toContain('html')
    expect(Buffer.from(await download.arrayBuffer())).toEqual(Buffer.from(document))

    // the files go with the history on the next turn too
    const next = unique('And now?')
    await you.send(next)
    // (with the cache point that turn ended with, so its prefix is read back)
    expect(lastRequestFor(next).messages[0]!.content.map((b) => Object.keys(b)[0])).toEqual(['image', 'document', 'text', 'cachePoint'])
    // a file is reachable only through its own conversation's address, even for its owner
    you.newChat()
    await you.send(unique('Another conversation of mine'))
    expect((await you.get(`${you.conversation}/attachments/${imageUrl!.split('/').pop()}`)).status).toBe(404)
  })

  test('a served file runs nothing: its own Content-Security-Policy (default-src none, sandbox) reaches the browser', async () => {
    const you = browser(t.app)
    const { conversation } = await sendFiles(you, '/c/new/messages', unique('Files to serve'), [
      fileOf(png(2, 2), 'dot.png', { type: 'image/png' }),
      fileOf('<script>alert(1)</script>', 'page.html', { type: 'text/html' }),
    ])
    const { html } = await pageOf(you, conversation!)
    const urls = [...html.matchAll(/(?:src|href)="(\/c\/[\w-]+\/attachments\/[\w-]+)"/g)].map((m) => m[1]!)
    expect(new Set(urls).size).toBe(2)
    for (const url of new Set(urls)) {
      const res = await you.get(url)
      expect(res.status).toBe(200)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      // the route sets this policy; the page-wide security headers must not replace it
      expect({ url, csp: res.headers.get('content-security-policy') }).toEqual({ url, csp: "default-src 'none'; sandbox" })
    }
  })

  test('a BMP and a document over 4.5 MB are refused with 422 and a reason, and nothing is stored', async () => {
    const you = browser(t.app)
    await you.get('/')
    const stored = async () => ({
      conversations: await count('select count(*) as n from conversations'),
      messages: await count('select count(*) as n from messages'),
      attachments: await count('select count(*) as n from attachments'),
    })
    const before = await stored()
    const requests = emulator.requests.length

    const bmp = await sendFiles(you, '/c/new/messages', 'Look at this', [fileOf(fixture('real.bmp'), 'photo.bmp', { type: 'image/bmp' })])
    expect(bmp.res.status).toBe(422)
    expect(bmp.body).toContain('<hx-partial hx-target="#composer-error" hx-swap="innerHTML">')
    expect(bmp.body).toContain('photo.bmp: BMP images are not supported; use PNG, JPEG, GIF or WebP.')

    const big = concat(pdf(1), new Uint8Array(4_600_000))
    const large = await sendFiles(you, '/c/new/messages', 'Read this', [fileOf(big, 'big.pdf', { type: 'application/pdf' })])
    expect(large.res.status).toBe(422)
    expect(large.body).toMatch(/big\.pdf: the document is 4\.6\d MB; documents can be at most 4\.5 MB\./)

    // one bad file refuses the message, good files included
    const mixed = await sendFiles(you, '/c/new/messages', 'Both', [
      fileOf(png(2, 2), 'fine.png', { type: 'image/png' }),
      fileOf(fixture('real.bmp'), 'photo.bmp', { type: 'image/bmp' }),
    ])
    expect(mixed.res.status).toBe(422)

    // without JavaScript: the page again, the message kept, status 422
    const plain = await sendFiles(you, '/c/new/messages', 'Kept text', [fileOf(fixture('real.bmp'), 'photo.bmp')], { htmx: false })
    expect(plain.res.status).toBe(422)
    expect(plain.body).toStartWith('<!DOCTYPE html>')
    expect(plain.body).toContain('photo.bmp: BMP images are not supported')
    expect(plain.body).toContain('Kept text</textarea>')

    expect(await stored()).toEqual(before)
    expect(emulator.requests.length).toBe(requests)
    expect(sidebar((await pageOf(you, '/')).html)).toEqual([])
  })

  test('a file without text is accepted and sent', async () => {
    const you = browser(t.app)
    const before = emulator.requests.length
    const { res, body, conversation } = await sendFiles(you, '/c/new/messages', '', [fileOf(pdf(1), 'notes.pdf', { type: 'application/pdf' })])
    expect(res.status).toBe(200)
    expect(finalBubble(body)).toContain('data-status="done"')
    const sent = emulator.requests.slice(before).map(bodyOf)
    expect(sent).toHaveLength(1)
    const content = sent[0]!.messages.at(-1)!.content
    expect(content[0]!.document).toMatchObject({ format: 'pdf', name: 'notes' })
    expect(content[1]!.text!.trim()).not.toBe('')
    const { html } = await pageOf(you, conversation!)
    expect(html).toContain('download="notes.pdf"')
    expect(assistantArticles(html)[0]).toContain('data-status="done"')
  })
})

describe('search', () => {
  test('finds this browser’s conversations by words in their messages, by prefix, with a snippet', async () => {
    const you = browser(t.app)
    const word = `photosynthesis${crypto.randomUUID().slice(0, 6).replace(/-/g, '')}`
    await you.send(`How does ${word} work in kelp forests?`)
    const match = you.conversation!
    you.newChat()
    await you.send(unique('Something unrelated about trains'))
    const unrelated = you.conversation!
    const stranger = browser(t.app)
    await stranger.send(`I also ask about ${word}`)

    const prefix = word.slice(0, 10) // "photosynth"
    const res = await you.get(`/search?q=${encodeURIComponent(prefix)}`, { htmx: true })
    expect(res.status).toBe(200)
    const fragment = await res.text()
    expect(fragment).toStartWith('<nav id="conversation-list"')
    expect(fragment).not.toContain('<!DOCTYPE')
    expect(fragment).toContain('Found in 1 conversation:')
    expect(fragment).toContain(`href="${match}"`)
    expect(fragment).not.toContain(`href="${unrelated}"`)
    expect(fragment).not.toContain(stranger.conversation!)
    expect(fragment).toContain(`<mark>${word}</mark>`)
    expect(fragment).toMatch(/<span class="snippet">[^<]*<mark>/)

    // a page load gets the whole page, with the results in the sidebar and the query in the box
    const page = await you.get(`/search?q=${encodeURIComponent(prefix)}`)
    const html = await page.text()
    expect(html).toStartWith('<!DOCTYPE html>')
    expect(html).toContain(`<input id="search" name="q" type="search" value="${prefix}"`)
    expect(html).toContain(`<mark>${word}</mark>`)
    expect(html).toContain('<textarea id="message"')

    // words in replies are found too, and words from several messages all have to match
    expect(await (await you.get('/search?q=trains%20emulated', { htmx: true })).text()).toContain(`href="${unrelated}"`)
    const none = await (await you.get('/search?q=kelp%20trains', { htmx: true })).text()
    expect(none).toContain('Nothing found for “kelp trains”.')

    // an empty query is the normal list
    for (const q of ['', '%20%20']) {
      const list = await (await you.get(`/search?q=${q}`, { htmx: true })).text()
      expect(list).toContain('aria-label="Conversations"')
      expect(sidebar(list).map((c) => c.href)).toEqual([unrelated, match])
    }
    // punctuation alone, or FTS syntax, is not an error
    for (const q of ['"', 'NEAR(', '*', 'a OR']) {
      expect((await you.get(`/search?q=${encodeURIComponent(q)}`, { htmx: true })).status).toBe(200)
    }
  })
})

describe('long conversations', () => {
  test('the oldest turns are left out when the context window is full, and the reply says so', async () => {
    const you = browser(t.app)
    const marker = crypto.randomUUID().slice(0, 8)
    // ~99 KB a message, ~33,000 tokens by the estimate (bytes / 3); a custom model has a 128k window
    const big = (n: number) => `Turn ${n} ${marker} ` + 'lorem ipsum dolor sit amet '.repeat(3660)
    await you.send(big(1), { modelId: 'custom', customModelId: 'my.custom-model-v1:0' })
    const path = you.conversation!
    expect((await you.post(`${path}/settings`, { ...SETTINGS, systemPrompt: 'Keep the system prompt.' }, { htmx: true })).status).toBe(200)
    const b2 = await you.send(big(2))
    const b3 = await you.send(big(3))
    expect(finalBubble(b2.body)).not.toContain('left out')
    expect(finalBubble(b3.body)).not.toContain('left out')
    expect(lastRequestFor(`Turn 3 ${marker}`).messages).toHaveLength(5)

    const { body } = await you.send(big(4))
    const bubble = unescapeHtml(finalBubble(body))
    expect(bubble).toContain('data-status="done"')
    expect(bubble).toContain("2 earlier messages were left out: the conversation no longer fits the model's context window.")
    const sent = lastRequestFor(`Turn 4 ${marker}`)
    expect(sent.system).toEqual([{ text: 'Keep the system prompt.' }])
    expect(sent.messages[0]!.role).toBe('user')
    expect(sent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user'])
    expect(textOf(sent.messages[0]!)).toStartWith(`Turn 2 ${marker}`)
    expect(JSON.stringify(sent)).not.toContain(`Turn 1 ${marker}`)
    expect(emulator.requests.at(-1)!.modelId).toBe('my.custom-model-v1:0')
    // the page still shows the whole conversation, and the warning stays with the reply
    const { html } = await pageOf(you, path)
    expect(userArticles(html)).toHaveLength(4)
    expect(assistantArticles(html).at(-1)).toContain('2 earlier messages were left out')
    expect(assistantArticles(html)[0]).not.toContain('left out')
  })
})

describe('long conversations with thinking', () => {
  test('the reply room the request asks for (max tokens raised above the thinking budget) is kept free of history', async () => {
    const you = browser(t.app)
    const marker = crypto.randomUUID().slice(0, 8)
    const big = (n: number) => `Deep ${n} ${marker} ` + 'lorem ipsum dolor sit amet '.repeat(3660)
    await you.send(big(1), { modelId: SONNET_45 })
    const path = you.conversation!
    expect(
      (await you.post(`${path}/settings`, { temperature: '0.5', maxTokens: '2048', thinking: 'on', thinkingBudget: '60000' }, { htmx: true })).status,
    ).toBe(200)
    for (const n of [2, 3, 4]) await you.send(big(n))
    const { body } = await you.send(big(5))
    const sent = lastRequestFor(`Deep 5 ${marker}`)
    const maxTokens = sent.inferenceConfig!.maxTokens!
    expect(maxTokens).toBeGreaterThan(60000)
    // the app's own estimate (UTF-8 bytes / 3 per message): what Claude Sonnet 4.5's 200,000-token window must hold with the reply
    const input = sent.messages.reduce((sum, m) => sum + Math.ceil(Buffer.byteLength(textOf(m)) / 3), 0)
    expect(input + maxTokens).toBeLessThanOrEqual(200_000)
    expect(unescapeHtml(finalBubble(body))).toMatch(/\d+ earlier messages were left out/)
  })
})

describe('without JavaScript', () => {
  test('every form works as a normal post', async () => {
    const you = browser(t.app)
    const text = unique('Plain form post')
    const sent = await you.sendWithoutScripts(text)
    expect(sent.status).toBe(303)
    const path = you.conversation!
    expect(sent.headers.get('location')).toMatch(new RegExp(`^${path}#m-[\\w-]+$`))
    let html = unescapeHtml((await pageOf(you, path)).html)
    expect(html).toStartWith('<!DOCTYPE html>')
    expect(html).toContain(`Emulated reply to: "${text}"`)
    expect(html).toContain('data-status="done"')

    const second = unique('A second plain post')
    expect((await you.sendWithoutScripts(second)).status).toBe(303)
    expect(userTexts((await pageOf(you, path)).html)).toEqual([text, second])

    const settings = await you.post(`${path}/settings`, { systemPrompt: 'Plain prompt', temperature: '0.2', maxTokens: '500' })
    expect(settings.status).toBe(303)
    expect(settings.headers.get('location')).toBe(path)
    expect((await pageOf(you, path)).html).toContain('>Plain prompt</textarea>')

    const rename = await you.post(`${path}/rename`, { title: 'Plain title' })
    expect(rename.status).toBe(303)
    expect(rename.headers.get('location')).toBe(path)

    const regenerate = await you.post(`${path}/regenerate`, {})
    expect(regenerate.status).toBe(303)
    expect(regenerate.headers.get('location')).toMatch(new RegExp(`^${path}#m-`))
    expect(lastRequestFor(second).system).toEqual([{ text: 'Plain prompt' }])
    expect(lastRequestFor(second).inferenceConfig).toEqual({ maxTokens: 500, temperature: 0.2 })

    const edited = unique('An edited plain post')
    const edit = await you.post(`${path}/edit`, { message: edited })
    expect(edit.status).toBe(303)
    html = unescapeHtml((await pageOf(you, path)).html)
    expect(userTexts(html)).toEqual([text, edited])
    expect(html).toContain(`Emulated reply to: "${edited}"`)
    expect(html).toContain('<h2 id="chat-title">Plain title</h2>')
    expect(assistantArticles(html).every((a) => a.includes('data-status="done"'))).toBe(true)

    const search = await you.get(`/search?q=${encodeURIComponent('edited plain')}`)
    expect(search.status).toBe(200)
    expect(await search.text()).toContain(`href="${path}"`)

    const remove = await you.post(`${path}/delete`, {})
    expect(remove.status).toBe(303)
    expect((await pageOf(you, path)).status).toBe(404)
  })
})
