import { describe, expect, test } from 'bun:test'
import { createDeps } from '../src/deps.ts'
import { openPostgresStore } from '../src/store.ts'
import { createSessions, RETENTION_INTERVAL_MS, UNSAVED_IDLE_MS, usd } from '../src/services/chat/index.ts'
import { RETENTION_BATCH } from '../src/services/chat/retention.ts'
import { ALL_MODELS, ALL_TIME } from '../src/db/schema.ts'
import { costFor } from '../src/services/models.ts'
import { browser, listen, makeApp, parseSse, readUntil, SERVER_CREDENTIALS, type TestApp, unescapeHtml, unique, useApp } from './helpers.ts'

/**
 * The limits against unbounded consumption (src/services/chat/limits.ts), each reached through the
 * real app and emulator: a refusal says what the limit is and when to try again, and nothing of the
 * refused message is sent to Bedrock, saved, or recorded as a call.
 */

const ORIGIN = 'http://localhost'
type Browser = ReturnType<typeof browser>

function sentWith(t: TestApp, marker: string) {
  return t.emulator.requests.filter((r) => JSON.stringify(r.body).includes(marker))
}

async function count(t: TestApp, sql: string, ...params: (string | number)[]): Promise<number> {
  return (await t.sql<{ n: number }>(sql, ...params))[0]!.n
}

/** What a refused message must leave behind: nothing sent, nothing saved, no call recorded. */
async function expectNothingOf(t: TestApp, marker: string, before: { calls: number }) {
  expect(sentWith(t, marker)).toEqual([])
  expect(await count(t, 'select count(*) as n from messages where text like ?', `%${marker}%`)).toBe(0)
  expect(await count(t, 'select count(*) as n from invocations')).toBe(before.calls)
}

const calls = async (t: TestApp) => ({ calls: await count(t, 'select count(*) as n from invocations') })

/** The refusal next to the composer, as the person reads it. */
function composerError(body: string): string {
  return unescapeHtml(body.match(/<hx-partial hx-target="#composer-error" hx-swap="innerHTML">([\s\S]*?)<\/hx-partial>/)?.[1] ?? '')
}

describe('RATE_LIMIT_PER_MINUTE', () => {
  let t: TestApp
  useApp((app) => (t = app), { env: { RATE_LIMIT_PER_MINUTE: '2' } })

  test('the call past the limit is refused with 429 and when to try again; nothing is sent, saved or recorded', async () => {
    const you = browser(t.app)
    for (const text of [unique('first'), unique('second')]) {
      const { res, body } = await you.send(text)
      expect(res.status).toBe(200)
      expect(body).toContain('data-status="done"')
    }
    const before = await calls(t)
    const third = unique('third')
    const { res, body } = await you.send(third)
    expect(res.status).toBe(429)
    const refusal = composerError(body)
    const seconds = Number(refusal.match(/^Slow down: 2 messages a minute; try again in (\d+) s\.$/)?.[1])
    expect(seconds).toBeGreaterThanOrEqual(1)
    expect(seconds).toBeLessThanOrEqual(60)
    expect(res.headers.get('retry-after')).toBe(String(seconds))
    await expectNothingOf(t, third, before)

    // Regenerate is a model call too
    const again = await you.post(`${you.conversation}/regenerate`, {}, { htmx: true })
    expect(again.status).toBe(429)
    expect(composerError(await again.text())).toStartWith('Slow down: 2 messages a minute')

    // without JavaScript: the page, with the refusal and the text kept
    const plain = unique('no scripts')
    const page = await you.sendWithoutScripts(plain)
    expect(page.status).toBe(429)
    const html = await page.text()
    expect(html).toStartWith('<!DOCTYPE html>')
    expect(html).toContain('Slow down: 2 messages a minute; try again in')
    expect(html).toContain(`${plain}</textarea>`)
    await expectNothingOf(t, plain, before)
  })

  test('the limit is per person: another browser is not held up', async () => {
    const you = browser(t.app)
    await you.send(unique('one'))
    await you.send(unique('two'))
    expect((await you.send(unique('three'))).res.status).toBe(429)
    const someoneElse = browser(t.app)
    expect((await someoneElse.send(unique('meanwhile'))).res.status).toBe(200)
  })

  test("a sign-in proxy's user is one person in every browser", async () => {
    // the proxy's header is believed from loopback only, so this app is served over real HTTP
    const proxied = await makeApp({ env: { RATE_LIMIT_PER_MINUTE: '2', AUTH_PROXY_HEADER: 'X-Forwarded-User' }, emulator: t.emulator })
    const server = listen(proxied.app, proxied.deps)
    try {
      const as = (user: string) => {
        const b = browser(server.url)
        return (text: string) => b.post('/c/new/messages', { message: text }, { htmx: true, headers: { 'X-Forwarded-User': user } })
      }
      const laptop = as('ada@example.com')
      const phone = as('ada@example.com')
      for (const sent of [await laptop(unique('from the laptop')), await phone(unique('from the phone'))]) {
        expect(sent.status).toBe(200)
        expect(await sent.text()).toContain('data-status="done"')
      }
      const third = await laptop(unique('third'))
      expect(third.status).toBe(429)
      expect(composerError(await third.text())).toStartWith('Slow down: 2 messages a minute')
      const grace = await as('grace@example.com')(unique('someone else'))
      expect(grace.status).toBe(200)
      await grace.text()
    } finally {
      server.stop()
      await proxied.close()
    }
  })
})

describe('MAX_CONCURRENT_CALLS', () => {
  let t: TestApp
  useApp((app) => (t = app), { env: { MAX_CONCURRENT_CALLS: '1' } })

  test('past the cap a message is refused with 503 and nothing is sent; the place is free once the call ends', async () => {
    const first = browser(t.app)
    const slow = await first.post('/c/new/messages', { message: unique('[[firstdelay:20000]] a slow one') }, { htmx: true })
    expect(slow.status).toBe(200)
    const stream = await readUntil(slow, (body) => /\/replies\/[\w-]+\/stop/.test(body))
    const replyId = stream.body.match(/\/replies\/([\w-]+)\/stop/)![1]!
    expect(t.deps.limits.inFlight).toBe(1)

    const before = await calls(t)
    const other = browser(t.app)
    const text = unique('while the server is full')
    const { res, body } = await other.send(text)
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('5')
    expect(composerError(body)).toBe('The server is busy: try again in a moment.')
    await expectNothingOf(t, text, before)

    const plain = unique('no scripts, server full')
    const page = await other.sendWithoutScripts(plain)
    expect(page.status).toBe(503)
    expect(await page.text()).toContain('The server is busy: try again in a moment.')

    // Stop ends the slow call; then there is room again
    expect((await first.post(`/replies/${replyId}/stop`, {}, { htmx: true })).status).toBe(204)
    expect(await stream.rest()).toContain('data-status="stopped"')
    expect(t.deps.limits.inFlight).toBe(0)
    expect((await other.send(unique('now there is room'))).res.status).toBe(200)
    expect(t.deps.limits.inFlight).toBe(0)
  })
})

describe('BUDGET_USD_PER_DAY and SERVER_BUDGET_USD_PER_DAY', () => {
  let t: TestApp
  // one call of 200 tokens costs about $0.0033 (Claude Sonnet 4.5 through its us. profile)
  // the limits' clock stands still, so a run across midnight UTC cannot start a new day halfway
  const today = Date.now()
  useApp((app) => (t = app), { env: { BUDGET_USD_PER_DAY: '0.002', SERVER_BUDGET_USD_PER_DAY: '0.005' }, deps: { limits: { now: () => today } } })

  const budgetLine = (html: string) => html.match(/<p id="budget"[\s\S]*?<\/p>/)?.[0] ?? ''
  type Call = { model_id: string; input_tokens: number; output_tokens: number; owner: string }
  const lastCall = async () => (await t.sql<Call>('select * from invocations order by id desc limit 1'))[0]!
  const costOf = (call: Call) => costFor(call.model_id, call.input_tokens, call.output_tokens)!

  test('the sidebar shows the spend; a person past their budget, then everyone past the server’s, is refused', async () => {
    const ada = browser(t.app)
    const fresh = budgetLine(await (await ada.get('/')).text())
    expect(fresh).toContain('Today: $0.00 of $0.0020')
    expect(fresh).toContain('The whole server today: $0.00 of $0.0050')

    // a model with no known price cannot be counted, so it is refused while a budget is on
    const before = await calls(t)
    const mystery = unique('an unpriced model')
    const unpriced = await ada.send(mystery, { modelId: 'custom', customModelId: 'acme.mystery-model-v1' })
    expect(unpriced.res.status).toBe(422)
    expect(composerError(unpriced.body)).toBe(
      'acme.mystery-model-v1 has no known price, so its cost cannot be counted against the daily budget: choose a model from the list, or give it a price in MODEL_CATALOG_FILE.',
    )
    await expectNothingOf(t, mystery, before)

    // Ada's first call: the finished reply brings the sidebar's new line, counted from the recorded call
    const sent = await ada.send(unique('[[tokens:200]] spend something'))
    expect(sent.res.status).toBe(200)
    const call = await lastCall()
    const cost = costOf(call)
    expect(cost).toBeGreaterThan(0.002)
    expect(call.owner).toMatch(/^[0-9a-f]{64}$/)
    const streamed = budgetLine(sent.messages.at(-1)!.data)
    expect(streamed).toContain(`Today: ${usd(cost)} of $0.0020`)
    expect(budgetLine(await (await ada.get(ada.conversation!)).text())).toContain(`Today: ${usd(cost)} of $0.0020`)

    // over her budget: refused, with when it starts again
    const later = await calls(t)
    const over = unique('one more')
    const refused = await ada.send(over)
    expect(refused.res.status).toBe(429)
    expect(composerError(refused.body)).toMatch(
      new RegExp(`^You have spent today's budget: \\${usd(cost)} of \\$0\\.0020 a day\\. It starts again at midnight UTC, in (\\d+ h )?\\d+ min\\.$`),
    )
    expect(Number(refused.res.headers.get('retry-after'))).toBeGreaterThan(0)
    await expectNothingOf(t, over, later)

    // Grace has her own budget; after her call the server's is spent too
    const grace = browser(t.app)
    expect((await grace.send(unique('[[tokens:200]] my turn'))).res.status).toBe(200)
    const server = cost + costOf(await lastCall())
    expect(server).toBeGreaterThan(0.005)
    const linus = browser(t.app)
    expect(budgetLine(await (await linus.get('/')).text())).toContain(`Today: $0.00 of $0.0020`)
    const blocked = unique('nothing left')
    const afterGrace = await calls(t)
    const everyone = await linus.send(blocked)
    expect(everyone.res.status).toBe(429)
    expect(composerError(everyone.body)).toStartWith("This server has spent today's budget for everyone ($0.0050 a day). It starts again at midnight UTC, in ")
    await expectNothingOf(t, blocked, afterGrace)

    // after a restart the day's spend is read back from the recorded calls
    const restartedStore = t.databaseUrl ? await openPostgresStore(t.databaseUrl) : undefined
    const restarted = createDeps({
      config: t.config,
      ...(restartedStore ? { store: restartedStore } : { database: t.database }),
      bedrock: { serverCredentials: SERVER_CREDENTIALS },
      limits: { now: () => today },
    })
    const adaOwner = call.owner
    expect((await restarted.limits.today(adaOwner)).user!.spentUsd).toBeCloseTo(cost, 10)
    expect((await restarted.limits.today(adaOwner)).server!.spentUsd).toBeCloseTo(server, 10)
    expect(restarted.limits.check(adaOwner)?.status).toBe(429)
    await restartedStore?.close()
  })
})

describe('ATTACHMENT_QUOTA_MB', () => {
  let t: TestApp
  useApp((app) => (t = app), { env: { ATTACHMENT_QUOTA_MB: '0.002' } })

  async function sendFile(you: Browser, message: string, bytes: number, options: { htmx?: boolean } = {}) {
    if (!you.cookie) await you.get('/')
    const form = new FormData()
    form.append('message', message)
    form.append('files', new File(['x'.repeat(bytes)], 'notes.txt', { type: 'text/plain' }))
    const headers: Record<string, string> = { Cookie: you.cookie, Origin: ORIGIN }
    if (options.htmx !== false) Object.assign(headers, { 'HX-Request': 'true', 'HX-Request-Type': 'partial' })
    const path = you.conversation ? `${you.conversation}/messages` : '/c/new/messages'
    const res = await t.app.request(ORIGIN + path, { method: 'POST', headers, body: form, redirect: 'manual' })
    const body = await res.text()
    const conversation = body.match(/data-post="(\/c\/[\w-]+)\/messages"/)?.[1]
    if (conversation) you.open(conversation)
    return { res, body, ...parseSse(body) }
  }

  test('files past the quota are refused with 413, naming the quota and what is used; nothing is stored', async () => {
    const you = browser(t.app)
    expect((await sendFile(you, unique('the first file'), 1200)).res.status).toBe(200)
    const files = await count(t, 'select count(*) as n from attachments')
    const before = await calls(t)
    const text = unique('one file too many')
    const { res, body } = await sendFile(you, text, 1200)
    expect(res.status).toBe(413)
    expect(composerError(body)).toBe(
      'These files (1 KB) would go over your attachment quota of 0.002 MB: you keep 1 KB of files already. Delete conversations with files you no longer need, or attach less.',
    )
    expect(await count(t, 'select count(*) as n from attachments')).toBe(files)
    await expectNothingOf(t, text, before)

    const plain = await sendFile(you, unique('no scripts'), 1200, { htmx: false })
    expect(plain.res.status).toBe(413)
    expect(plain.body).toContain('would go over your attachment quota of 0.002 MB')

    // words still go, and so do another person's files
    expect((await you.send(unique('just words'))).res.status).toBe(200)
    expect((await sendFile(browser(t.app), unique('my own file'), 1200)).res.status).toBe(200)
  })
})

describe('RETENTION_DAYS', () => {
  let t: TestApp
  useApp((app) => (t = app), { env: { RETENTION_DAYS: '30' } })
  const DAY = 86_400_000

  test('old conversations (messages, files, search entries) and old calls are deleted in batches; new ones and the rollups stay right', async () => {
    // something new, through the app: a conversation, its message, its call
    const you = browser(t.app)
    const word = `kept${crypto.randomUUID().slice(0, 6)}`
    await you.send(`${word} is recent`)
    const recent = you.conversation!.slice(3)
    const [{ owner }] = (await t.sql<{ owner: string }>('select owner from conversations where id = ?', recent)) as [{ owner: string }]

    // something old: more conversations and calls than one batch holds
    const old = Date.now() - 40 * DAY
    const oldWord = `gone${crypto.randomUUID().slice(0, 6)}`
    const oldConversations = RETENTION_BATCH.conversations * 2 + 3
    const oldCalls = RETENTION_BATCH.invocations * 3 + 1
    const at = t.instant
    for (let i = 0; i < oldConversations; i++) {
      await t.sql(`insert into conversations (id, owner, title, created_at, updated_at) values (?, ?, ?, ${at}, ${at})`, `old-${i}`, owner, 'old', old, old + i)
      await t.sql(
        `insert into messages (id, conversation_id, seq, role, text, status, created_at) values (?, ?, 1, 'user', ?, 'done', ${at})`,
        `old-m-${i}`,
        `old-${i}`,
        `${oldWord} number ${i}`,
        old,
      )
      await t.sql(
        "insert into attachments (id, message_id, kind, format, name, original_name, media_type, size, bytes) values (?, ?, 'document', 'txt', 'n', 'n.txt', 'text/plain', 3, ?)",
        `old-a-${i}`,
        `old-m-${i}`,
        Buffer.from([1, 2, 3]),
      )
    }
    for (let i = 0; i < oldCalls; i++) {
      await t.sql(
        `insert into invocations (timestamp, latency_ms, success, model_id, input_tokens, output_tokens, attempts, outcome, owner) values (${at}, 100, true, 'us.amazon.nova-pro-v1:0', 10, 10, 1, 'ok', ?)`,
        old + i * 1000,
        owner,
      )
    }
    // an old conversation used again lately stays, whole
    await t.sql(
      `insert into conversations (id, owner, title, created_at, updated_at) values (?, ?, ?, ${at}, ${at})`,
      'old-but-used',
      owner,
      'used',
      old,
      Date.now(),
    )
    const recentCalls = await count(t, `select count(*) as n from invocations where timestamp >= ${t.instant}`, Date.now() - DAY)
    expect(await t.deps.conversations.search(owner, oldWord)).toHaveLength(oldConversations)

    expect(await t.deps.retention.run()).toEqual({ conversations: oldConversations, invocations: oldCalls })

    expect(await count(t, "select count(*) as n from conversations where id like 'old-%' and id <> 'old-but-used'")).toBe(0)
    expect(await count(t, "select count(*) as n from messages where id like 'old-m-%'")).toBe(0)
    expect(await count(t, "select count(*) as n from attachments where id like 'old-a-%'")).toBe(0)
    expect(await t.deps.conversations.search(owner, oldWord)).toEqual([])
    expect(await count(t, `select count(*) as n from invocations where timestamp < ${t.instant}`, Date.now() - 30 * DAY)).toBe(0)
    // the new ones stay
    expect(await t.deps.conversations.get(owner, 'old-but-used')).not.toBeNull()
    expect(await t.deps.conversations.thread(recent)).toHaveLength(2)
    expect(await t.deps.conversations.search(owner, word)).toHaveLength(1)
    expect(await count(t, 'select count(*) as n from invocations')).toBe(recentCalls)
    // the trigger took the deleted calls out of the rollups: all time and the old day are what remains
    expect(await count(t, 'select requests as n from invocation_rollup where bucket_ms = ? and t = 0 and model_id = ?', ALL_TIME, ALL_MODELS)).toBe(recentCalls)
    expect(
      await count(
        t,
        'select coalesce(sum(requests), 0) as n from invocation_rollup where bucket_ms = ? and t < ? and model_id = ?',
        DAY,
        Date.now() - 30 * DAY,
        ALL_MODELS,
      ),
    ).toBe(0)
    expect((await t.deps.metricsQueries.summary('24h')).requests).toBe(recentCalls)
    expect((await you.get('/dashboard')).status).toBe(200)

    // nothing more to delete
    expect(await t.deps.retention.run()).toEqual({ conversations: 0, invocations: 0 })
    expect(RETENTION_INTERVAL_MS).toBe(60 * 60_000)
  })
})

describe('sessions that saved nothing', () => {
  let clock = Date.now()
  let t: TestApp
  useApp((app) => (t = app), { deps: { sessions: { now: () => clock } } })

  test('go after a short idle time; sessions with a conversation or credentials keep theirs', async () => {
    const start = t.deps.sessions.size
    const visitor = browser(t.app)
    await visitor.get('/')
    const writer = browser(t.app)
    expect((await writer.send(unique('something to keep'))).res.status).toBe(200)
    const keyholder = browser(t.app)
    await keyholder.get('/')
    const saved = await keyholder.post(
      '/credentials',
      { accessKeyId: 'AKIAEXAMPLEEXAMPLE01', secretAccessKey: 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY01' },
      { htmx: true },
    )
    expect(saved.status).toBe(200)
    expect(t.deps.sessions.size).toBe(start + 3)

    clock += UNSAVED_IDLE_MS - 1000
    expect(await t.deps.sessions.sweep()).toBe(0)
    clock += 2000
    expect(await t.deps.sessions.sweep()).toBe(1)
    expect(t.deps.sessions.size).toBe(start + 2)
    // the visitor comes back to a fresh session, under the same cookie
    expect((await visitor.get('/')).status).toBe(200)

    clock += t.config.SESSION_IDLE_MINUTES * 60_000
    expect(await t.deps.sessions.sweep()).toBe(3)
    expect(t.deps.sessions.size).toBe(start)
  })

  test('a session found to own conversations in the database (after a restart) is kept', async () => {
    let now = 0
    const owners = new Set<string>()
    const sessions = createSessions({ now: () => now, ownerHasConversations: async (owner) => owners.has(owner) })
    const returning = sessions.resolve(undefined).session
    const newcomer = sessions.resolve(undefined).session
    owners.add(returning.owner)
    now += UNSAVED_IDLE_MS + 1
    expect(await sessions.sweep()).toBe(1)
    expect(sessions.holds(returning)).toBe(true)
    expect(sessions.holds(newcomer)).toBe(false)
  })
})
