import { afterAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { openPostgresStore } from '../src/store.ts'
import { browser, eventually, makeApp, unique, type TestApp } from './helpers.ts'
import { skipWithoutPostgres, testDatabase, type TestDatabase } from './support/postgres.ts'

/**
 * The app on PostgreSQL (DATABASE_URL): the same chat, the same figures, through the same code
 * above the storage layer, against a real server.
 */

const skip = skipWithoutPostgres('tests/postgres-store.test.ts')
const opened: TestApp[] = []
const databases: TestDatabase[] = []
afterAll(async () => {
  for (const t of opened) await t.close()
  for (const d of databases) await d.drop()
})

async function pgApp(): Promise<TestApp & { url: string }> {
  const database = await testDatabase()
  databases.push(database)
  const t = await makeApp({ deps: { store: await openPostgresStore(database.url) } })
  opened.push(t)
  return Object.assign(t, { url: database.url })
}

describe.skipIf(skip)('the app on PostgreSQL', () => {
  test('a reply streams, is saved with its call row and rollups, is found by search, renamed and deleted, and shows on the dashboard', async () => {
    const t = await pgApp()
    const you = browser(t.app)
    await you.get('/')
    const word = `zebra${crypto.randomUUID().slice(0, 6)}`
    const sent = await you.send(`Tell me about the ${word} [[tokens:12]]`)
    expect(sent.res.status).toBe(200)
    expect(sent.body).toContain('Emulated reply to')
    const conversation = you.conversation!

    const page = await (await you.get(conversation)).text()
    expect(page).toContain(word)
    const sql = postgres(t.url, { max: 1, onnotice: () => {} })
    try {
      await eventually(async () => {
        const [row] =
          await sql`SELECT m.status, i.outcome, i.output_tokens FROM messages m JOIN invocations i ON i.id = m.invocation_id WHERE m.role = 'assistant'`
        expect(row).toMatchObject({ status: 'done', outcome: 'ok', output_tokens: 12 })
      })
      const [all] = await sql`SELECT requests::int AS requests FROM invocation_rollup WHERE bucket_ms = 0 AND t = 0 AND model_id = '*'`
      expect(all).toEqual({ requests: 1 })
    } finally {
      await sql.end({ timeout: 5 })
    }

    const found = await (await you.get(`/search?q=${word.slice(0, 7)}`, { htmx: true })).text()
    expect(found).toContain(`href="${conversation}`)
    const renamed = await you.post(`${conversation}/rename`, { title: 'On PostgreSQL' })
    expect(renamed.status).toBe(303)
    expect(await (await you.get(conversation)).text()).toContain('On PostgreSQL')

    const dashboard = await (await t.app.request('http://localhost/dashboard?range=15m')).text()
    // the By model row of the one call, and the Invocations list's
    expect(dashboard.match(/<td class="model">global\.anthropic\.claude-sonnet-4-6<\/td>/g)).toHaveLength(2)
    expect(dashboard).toContain('<dt>Invocations</dt><dd><span class="value">1</span>')
    const metrics = await (await t.app.request('http://localhost/metrics')).text()
    expect(metrics).toMatch(/bedrock_invocations_total\{[^}]*outcome="ok"[^}]*\} 1/)

    expect((await you.post(`${conversation}/delete`, {})).status).toBe(303)
    expect((await you.get(conversation)).status).toBe(404)
  })

  test('a second reply in the same conversation is sent the whole thread, and Regenerate replaces the last reply', async () => {
    const t = await pgApp()
    const you = browser(t.app)
    await you.get('/')
    const first = unique('first message')
    await you.send(first)
    const second = unique('second message')
    await you.send(second)
    const sentTo = t.emulator.requests.at(-1)!.body as { messages: { content: { text?: string }[] }[] }
    const texts = sentTo.messages.flatMap((m) => m.content.map((c) => c.text ?? ''))
    expect(texts.some((x) => x.includes(first))).toBe(true)
    expect(texts.some((x) => x.includes(second))).toBe(true)
    const again = await you.post(`${you.conversation}/regenerate`, {}, { htmx: true })
    expect(again.status).toBe(200)
    const page = await (await you.get(you.conversation!)).text()
    expect(page.match(/class="msg assistant/g)).toHaveLength(2)
  })
})
