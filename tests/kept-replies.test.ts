import { afterAll, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { createWriter } from '../src/db/writer.ts'
import { browser, eventually, makeApp, parseSse, readUntil, streamedPieces, type TestApp, unescapeHtml, unique } from './helpers.ts'

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

const row = (t: TestApp, id: string) => t.database.sqlite.query('select text, status from messages where id = ?').get(id) as { text: string; status: string }

describe('a reply that was shown is never lost', () => {
  test('its text so far is in the database while it streams, so a crash would keep it', async () => {
    const t = await makeApp()
    opened.push(t)
    const { stream, replyId } = await startSlowReply(t, unique('progress [[slow:100]] [[tokens:40]]'))
    await eventually(() => {
      const saved = row(t, replyId)
      expect(saved.status).toBe('streaming')
      expect(saved.text.length).toBeGreaterThan(0)
    }, 5000)
    await stream.rest()
    expect(row(t, replyId).status).toBe('done')
  }, 15_000)

  test('a finished reply the database refuses is shown with a note, kept, and saved exactly once when it can write again; a reload never says "Still answering…"', async () => {
    const t = await makeApp()
    opened.push(t)
    const { you, stream, replyId, path } = await startSlowReply(t, unique('kept [[slow:50]] [[tokens:20]]'))
    const callsBefore = (t.database.sqlite.query('select count(*) as n from invocations').get() as { n: number }).n
    // the disk refuses writes (a read-only remount) before the reply ends
    t.database.sqlite.exec('PRAGMA query_only = ON')
    const body = unescapeHtml(await stream.rest())
    expect(body).toContain('Not saved yet')
    const page = unescapeHtml(await (await you.get(path)).text())
    expect(page).not.toContain('Still answering')
    expect(page).toContain('Not saved yet')
    expect(page).toContain('data-status="done"')
    expect(row(t, replyId).status).toBe('streaming')

    t.database.sqlite.exec('PRAGMA query_only = OFF')
    await eventually(() => expect(row(t, replyId).status).toBe('done'), 5000)
    expect(row(t, replyId).text).toContain('Emulated reply to')
    const callsAfter = (t.database.sqlite.query('select count(*) as n from invocations').get() as { n: number }).n
    expect(callsAfter).toBe(callsBefore + 1)
    const reloaded = unescapeHtml(await (await you.get(path)).text())
    expect(reloaded).not.toContain('Not saved yet')
    const linked = t.database.sqlite.query('select invocation_id from messages where id = ?').get(replyId) as { invocation_id: number | null }
    expect(linked.invocation_id).not.toBeNull()
  }, 15_000)
})

describe('another process holding the write lock', () => {
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
      expect(row(t, replyId).status).toBe('streaming')
    } finally {
      other.exec('ROLLBACK')
      other.close()
    }
    await eventually(() => expect(row(t, replyId).status).toBe('done'), 5000)
  }, 20_000)
})

describe('the writer under a refusing database', () => {
  function database() {
    const sqlite = new Database(':memory:')
    sqlite.exec('CREATE TABLE server_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)')
    sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER UNIQUE, blob BLOB)')
    return sqlite
  }

  test('more kept writes than a batch holds all land, once and in order, when writes work again', async () => {
    const sqlite = database()
    const writer = createWriter(sqlite)
    sqlite.exec('PRAGMA query_only = ON')
    const writes = Array.from({ length: 80 }, (_, n) => writer.write(() => sqlite.run('INSERT INTO t (n) VALUES (?)', [n]), { keep: true }))
    await eventually(() => expect(writer.status.ok).toBe(false))
    expect(writer.kept).toBeGreaterThan(0)
    sqlite.exec('PRAGMA query_only = OFF')
    await Promise.all(writes)
    const rows = sqlite.query('SELECT n FROM t ORDER BY id').all() as { n: number }[]
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 80 }, (_, n) => n))
    expect(writer.kept).toBe(0)
    expect(writer.status.ok).toBe(true)
    sqlite.close()
  }, 10_000)

  test('a full disk does not bring the server down: the write is kept and lands once there is room', async () => {
    const sqlite = database()
    const writer = createWriter(sqlite)
    const pages = (sqlite.query('PRAGMA page_count').get() as { page_count: number }).page_count
    sqlite.exec(`PRAGMA max_page_count = ${pages}`)
    const big = new Uint8Array(64 * 1024)
    const write = writer.write(() => sqlite.run('INSERT INTO t (n, blob) VALUES (1, ?)', [big]), { keep: true })
    await eventually(() => expect(writer.kept).toBe(1))
    expect(writer.status.ok).toBe(false)
    sqlite.exec('PRAGMA max_page_count = 1000000')
    await write
    expect((sqlite.query('SELECT count(*) AS c FROM t').get() as { c: number }).c).toBe(1)
    sqlite.close()
  }, 10_000)

  test('one bad write (a constraint) fails alone and does not make the database look unwritable', async () => {
    const sqlite = database()
    const writer = createWriter(sqlite)
    await writer.write(() => sqlite.run('INSERT INTO t (n) VALUES (7)'))
    await expect(writer.write(() => sqlite.run('INSERT INTO t (n) VALUES (7)'))).rejects.toThrow()
    expect(writer.status.ok).toBe(true)
    sqlite.close()
  })
})
