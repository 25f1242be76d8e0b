import { afterAll, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { browser, eventually, makeApp, parseSse, readUntil, streamedPieces, TEST_STORE, type TestApp, unescapeHtml, unique } from './helpers.ts'

/**
 * A reply that was shown is never lost: its text is saved while it streams (what a crash keeps),
 * and a finished reply the database refuses is kept in memory, shown as finished with a note, and
 * saved exactly once when the database takes writes again. Against the real app and its database.
 */

const ORIGIN = 'http://localhost'
const opened: TestApp[] = []
afterAll(async () => {
  for (const t of opened) await t.close()
})

async function startSlowReply(t: TestApp, text: string) {
  const you = browser(t.app)
  await you.get('/')
  const res = await t.app.request(`${ORIGIN}/c/new/messages`, {
    method: 'POST',
    headers: { Cookie: you.cookie, Origin: ORIGIN, 'HX-Request': 'true', 'HX-Request-Type': 'partial' },
    body: new URLSearchParams({ message: text }),
  })
  const stream = await readUntil(res, (b) => streamedPieces(parseSse(b).messages).length >= 3)
  const replyId = stream.body.match(/\/replies\/([\w-]+)\/stop/)![1]!
  const path = stream.body.match(/data-post="(\/c\/[\w-]+)\/messages"/)![1]!
  return { you, stream, replyId, path }
}

const row = async (t: TestApp, id: string) => (await t.sql<{ text: string; status: string }>('select text, status from messages where id = ?', id))[0]!
const calls = (t: TestApp) => t.database.sqlite.query<{ n: number }, []>('select count(*) as n from invocations').get()!.n

describe('a reply that was shown is never lost', () => {
  test('its text so far is in the database while it streams, so a crash would keep it', async () => {
    const t = await makeApp()
    opened.push(t)
    const { stream, replyId } = await startSlowReply(t, unique('progress [[slow:100]] [[tokens:40]]'))
    await eventually(async () => {
      const saved = await row(t, replyId)
      expect(saved.status).toBe('streaming')
      expect(saved.text.length).toBeGreaterThan(0)
    }, 5000)
    await stream.rest()
    expect((await row(t, replyId)).status).toBe('done')
  }, 15_000)

  // SQLite's own: the writer's connection turned read-only (PRAGMA query_only); no PostgreSQL counterpart yet
  test.skipIf(TEST_STORE === 'postgres')(
    'a finished reply the database refuses is shown with a note, kept, and saved exactly once when it can write again; a reload never says "Still answering…"',
    async () => {
      const t = await makeApp()
      opened.push(t)
      const { you, stream, replyId, path } = await startSlowReply(t, unique('kept [[slow:50]] [[tokens:20]]'))
      const callsBefore = calls(t)
      // the disk refuses writes (a read-only remount) before the reply ends
      await t.deps.writer.exec('PRAGMA query_only = ON')
      const body = unescapeHtml(await stream.rest())
      expect(body).toContain('Not saved yet')
      const page = unescapeHtml(await (await you.get(path)).text())
      expect(page).not.toContain('Still answering')
      expect(page).toContain('Not saved yet')
      expect(page).toContain('data-status="done"')
      expect((await row(t, replyId)).status).toBe('streaming')

      await t.deps.writer.exec('PRAGMA query_only = OFF')
      await eventually(async () => expect((await row(t, replyId)).status).toBe('done'), 5000)
      expect((await row(t, replyId)).text).toContain('Emulated reply to')
      const callsAfter = calls(t)
      expect(callsAfter).toBe(callsBefore + 1)
      const reloaded = unescapeHtml(await (await you.get(path)).text())
      expect(reloaded).not.toContain('Not saved yet')
      const linked = t.database.sqlite.query('select invocation_id from messages where id = ?').get(replyId) as { invocation_id: number | null }
      expect(linked.invocation_id).not.toBeNull()
    },
    15_000,
  )
})

// SQLite's own: another process's write lock on the file (BEGIN IMMEDIATE); PostgreSQL locks rows, not the database
describe.skipIf(TEST_STORE === 'postgres')('another process holding the write lock', () => {
  test('does not hold the server for long: pages answer, the finished reply is kept and saved once the lock is let go', async () => {
    const t = await makeApp()
    opened.push(t)
    const { you, stream, replyId, path } = await startSlowReply(t, unique('locked [[slow:50]] [[tokens:20]]'))
    const other = new Database(t.config.METRICS_DB_PATH)
    other.exec('BEGIN IMMEDIATE')
    try {
      const body = unescapeHtml(await stream.rest())
      // the save gave up after a moment instead of waiting out the lock
      expect(body).toContain('Not saved yet')
      expect((await you.get(path)).status).toBe(200)
      expect((await t.app.request('http://localhost/healthz')).status).toBe(200)
      expect((await row(t, replyId)).status).toBe('streaming')
    } finally {
      other.exec('ROLLBACK')
      other.close()
    }
    await eventually(async () => expect((await row(t, replyId)).status).toBe('done'), 5000)
  }, 20_000)
})
