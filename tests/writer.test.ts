import { afterAll, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createWriter, type Statement, type Writer } from '../src/db/writer.ts'
import { eventually } from './helpers.ts'

/**
 * The database's one writer, on its own thread with its own connection, against a real SQLite
 * file: what it commits, in which order, what it keeps while the database refuses writes, and
 * that what holds it (another process's lock) never holds the server's thread.
 */

const dir = mkdtempSync(join(tmpdir(), 'bedrock-chat-writer-'))
const open: { writer: Writer; sqlite: Database }[] = []
afterAll(async () => {
  for (const { writer, sqlite } of open) {
    await writer.close()
    sqlite.close()
  }
  rmSync(dir, { recursive: true, force: true })
})

let files = 0
function database(options: { batchMax?: number; busyTimeoutMs?: number } = {}) {
  const path = join(dir, `writer-${++files}.db`)
  const sqlite = new Database(path, { create: true, strict: true })
  sqlite.exec('PRAGMA journal_mode = WAL')
  sqlite.exec('CREATE TABLE server_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)')
  sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER UNIQUE, blob BLOB)')
  sqlite.exec('CREATE TABLE link (id INTEGER PRIMARY KEY AUTOINCREMENT, t_id INTEGER)')
  const writer = createWriter(path, options)
  open.push({ writer, sqlite })
  const values = () =>
    sqlite
      .query<{ n: number }, []>('SELECT n FROM t ORDER BY id')
      .all()
      .map((r) => r.n)
  return { path, sqlite, writer, values }
}

/** What a write was refused with (bun's `expect().rejects` does not wait for another thread's answer). */
const failure = (write: Promise<unknown>) =>
  write.then(
    () => 'no error',
    (err: unknown) => err,
  )

const insert = (n: number): Statement[] => [{ sql: 'INSERT INTO t (n) VALUES (?)', params: [n] }]

describe('the database writer', () => {
  test('writes queued together commit together; a failing one rolls back alone and says why', async () => {
    const { writer, values } = database()
    const results = await Promise.allSettled([1, 2, 2, 3, 4, 5].map((n) => writer.write(insert(n))))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'])
    expect(String((results[2] as PromiseRejectedResult).reason)).toContain('UNIQUE')
    expect(values()).toEqual([1, 2, 3, 4, 5])
    expect(writer.commits).toBe(1)
  })

  test('a batch takes at most its limit of writes; the rest commit in the next ones, in order', async () => {
    const { writer, values } = database({ batchMax: 2 })
    await Promise.all([1, 2, 3, 4, 5].map((n) => writer.write(insert(n))))
    expect(values()).toEqual([1, 2, 3, 4, 5])
    expect(writer.commits).toBe(3)
  })

  test('the statements of one write commit or roll back together', async () => {
    const { writer, values } = database()
    await writer.write(insert(1))
    expect(String(await failure(writer.write([...insert(2), ...insert(1)])))).toContain('UNIQUE')
    expect(values()).toEqual([1])
  })

  test('a later write can name the row an earlier one inserted, in the same batch or the next', async () => {
    const { writer, sqlite } = database()
    const first = writer.write([{ ...insert(10)[0]!, saveAs: 'ten' }])
    const sameBatch = writer.write([{ sql: 'INSERT INTO link (t_id) VALUES (?)', params: [{ ref: 'ten' }] }])
    await Promise.all([first, sameBatch])
    await writer.write([{ sql: 'INSERT INTO link (t_id) VALUES (?)', params: [{ ref: 'ten' }] }])
    await writer.write([{ sql: 'INSERT INTO link (t_id) VALUES (?)', params: [{ ref: 'never-saved' }] }])
    const ten = sqlite.query<{ id: number }, []>('SELECT id FROM t WHERE n = 10').get()!.id
    expect(
      sqlite
        .query<{ t_id: number | null }, []>('SELECT t_id FROM link ORDER BY id')
        .all()
        .map((r) => r.t_id),
    ).toEqual([ten, ten, null])
  })

  test('a write waiting for another process lock leaves the server thread free, and commits once the lock is let go', async () => {
    const { writer, path, values } = database({ busyTimeoutMs: 5000 })
    const other = new Database(path)
    other.exec('BEGIN IMMEDIATE')
    let committed = false
    const write = writer.write(insert(1)).then(() => (committed = true))
    // timers and other work run while the writer's thread waits for the lock
    for (let i = 0; i < 5; i++) await Bun.sleep(20)
    expect(committed).toBe(false)
    expect(writer.pending).toBe(1)
    other.exec('ROLLBACK')
    other.close()
    await write
    expect(values()).toEqual([1])
    expect(writer.status.ok).toBe(true)
  }, 10_000)

  test('more kept writes than a batch holds all land, once and in order, when writes work again', async () => {
    const { writer, values } = database()
    await writer.exec('PRAGMA query_only = ON')
    const writes = Array.from({ length: 150 }, (_, n) => writer.write(insert(n), { keep: true }))
    await eventually(() => expect(writer.status.ok).toBe(false))
    expect(writer.kept).toBeGreaterThan(0)
    await writer.exec('PRAGMA query_only = OFF')
    await Promise.all(writes)
    expect(values()).toEqual(Array.from({ length: 150 }, (_, n) => n))
    expect(writer.kept).toBe(0)
    expect(writer.status.ok).toBe(true)
  }, 10_000)

  test('a write that is not kept fails at once while the database refuses writes, and says why', async () => {
    const { writer, values } = database()
    await writer.exec('PRAGMA query_only = ON')
    expect(String(await failure(writer.write(insert(1))))).toMatch(/readonly|read-only/i)
    expect(writer.status.ok).toBe(false)
    await writer.exec('PRAGMA query_only = OFF')
    await eventually(() => expect(writer.status.ok).toBe(true), 5000)
    expect(values()).toEqual([])
  }, 10_000)

  test('a full disk does not bring the server down: the write is kept and lands once there is room', async () => {
    const { writer, sqlite } = database()
    const pages = sqlite.query<{ page_count: number }, []>('PRAGMA page_count').get()!.page_count
    await writer.exec(`PRAGMA max_page_count = ${pages}`)
    const write = writer.write([{ sql: 'INSERT INTO t (n, blob) VALUES (1, ?)', params: [new Uint8Array(64 * 1024)] }], { keep: true })
    await eventually(() => expect(writer.kept).toBe(1))
    expect(writer.status.ok).toBe(false)
    await writer.exec('PRAGMA max_page_count = 1000000')
    await write
    expect(sqlite.query<{ c: number }, []>('SELECT count(*) AS c FROM t').get()!.c).toBe(1)
  }, 10_000)

  test('one bad write (a constraint) fails alone and does not make the database look unwritable', async () => {
    const { writer } = database()
    await writer.write(insert(7))
    expect(await failure(writer.write(insert(7)))).toBeInstanceOf(Error)
    expect(writer.status.ok).toBe(true)
  })

  test('closing waits for what is queued, then gives up the rest and takes no more', async () => {
    const { writer, path, values } = database()
    await Promise.all([writer.write(insert(1)), writer.close(2000)])
    expect(values()).toEqual([1])
    expect(String(await failure(writer.write(insert(2))))).toContain('closed')

    const locked = createWriter(path, { busyTimeoutMs: 5000 })
    const other = new Database(path)
    other.exec('PRAGMA busy_timeout = 2000')
    other.exec('BEGIN IMMEDIATE')
    const stuck = locked.write(insert(3), { keep: true }).catch((err: unknown) => err)
    expect(await locked.close(100)).toBe(1)
    expect(String(await stuck)).toContain('closed')
    other.exec('ROLLBACK')
    other.close()
    expect(values()).toEqual([1])
  }, 10_000)
})
