import { afterAll, describe, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { createReadPool } from '../src/db/read-pool.ts'
import { STREAM_TEXT_MAX } from '../src/db/read-protocol.ts'
import { sqliteReader } from '../src/db/sql-reader.ts'
import { createMetricsQueries, invocationQuerySchema } from '../src/services/metrics/index.ts'
import { READERS_MODULE, type Readers } from '../src/services/reads.ts'
import { STALLING_READERS } from './fixtures/stalling-readers.ts'
import { browser, eventually, makeApp, TEST_STORE, unique, type TestApp } from './helpers.ts'

/**
 * Every read the server makes runs on a read thread (src/db/read-pool.ts): a database that stops
 * answering (a frozen disk, a hung network file system) holds those threads, never the server's.
 */

const opened: TestApp[] = []
afterAll(async () => {
  for (const t of opened) await t.close()
})

/** Whether a promise has settled yet, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol('pending')
  return (
    (await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      Promise.resolve(pending),
    ])) !== pending
  )
}

// SQLite's own: its read threads and the stall fixture (readersModule); PostgreSQL's bounded reads have no counterpart here yet
describe.skipIf(TEST_STORE === 'postgres')('a database that stops answering', () => {
  test('pages say so with a 503, health answers meanwhile, a message is refused in words and nothing is sent, and everything works again once it answers', async () => {
    const t = await makeApp({ deps: { readersModule: STALLING_READERS, readTimeoutMs: 400 } })
    opened.push(t)
    const stall = `${t.config.METRICS_DB_PATH}.stall`
    const you = browser(t.app)
    await you.get('/')
    const first = await you.send(unique('before the disk froze'))
    expect(first.res.status).toBe(200)
    const conversation = you.conversation!

    writeFileSync(stall, '')
    try {
      const page = you.get(conversation)
      // the server's thread is free while the read waits: health answers before the page does
      const health = await t.app.request('http://localhost/healthz')
      expect(health.status).toBe(200)
      expect(await settled(page)).toBe(false)
      const answered = await page
      expect(answered.status).toBe(503)
      expect(answered.headers.get('Retry-After')).toBe('5')
      expect(await answered.text()).toContain('The database did not answer within 0.4 s (it may be locked, or its disk slow or frozen). Try again in a moment.')

      const text = unique('sent while the disk is frozen')
      const refused = await you.send(text)
      expect(refused.res.status).toBe(503)
      expect(refused.body).toContain('The database is not answering: The database did not answer within 0.4 s')
      expect(t.emulator.requests.filter((r) => JSON.stringify(r.body).includes(text))).toHaveLength(0)

      const ready = await t.app.request('http://localhost/readyz')
      expect(ready.status).toBe(503)
      expect(((await ready.json()) as { problems: string[] }).problems[0]).toStartWith('The database cannot be read: The database did not answer')
      const dashboard = await (await t.app.request('http://localhost/dashboard')).text()
      expect(dashboard).toContain('The app is degraded.')
    } finally {
      rmSync(stall, { force: true })
    }

    // the threads answer what waited, then the next reads as usual
    await eventually(async () => expect((await you.get(conversation)).status).toBe(200), 5000)
    const after = await you.send(unique('after the disk thawed'))
    expect(after.res.status).toBe(200)
    expect(((await (await t.app.request('http://localhost/readyz')).json()) as { ok: boolean }).ok).toBe(true)
  })
})

// SQLite's own: a read thread's results sent in slices (PostgreSQL's CSV cursor is tested in metrics-queries.test.ts)
describe.skipIf(TEST_STORE === 'postgres')('results larger than one message', () => {
  test('a CSV export arrives whole, in slices, the same as read on the spot; one stopped early lets its statement go', async () => {
    const t = await makeApp()
    opened.push(t)
    const now = Date.now()
    const insert = t.database.sqlite.prepare(
      "INSERT INTO invocations (timestamp, latency_ms, success, model_id, outcome, input_tokens, output_tokens) VALUES (?, ?, 1, 'us.amazon.nova-pro-v1:0', 'ok', ?, ?)",
    )
    t.database.sqlite.transaction(() => {
      for (let i = 0; i < 6000; i++) insert.run(now - i * 100, 100 + (i % 900), i % 50, i % 70)
    })()
    const query = invocationQuerySchema.parse({ range: '24h' })
    const onTheSpot = (await Array.fromAsync(createMetricsQueries(sqliteReader(t.database.sqlite)).invocationsCsv(query, now))).join('')
    // more than one message of the stream carries
    expect(onTheSpot.length).toBeGreaterThan(STREAM_TEXT_MAX * 1.5)

    const pool = createReadPool<Readers>({ path: t.config.METRICS_DB_PATH, module: READERS_MODULE, threads: 1 })
    try {
      let text = ''
      for await (const chunk of await pool.reads.metrics.invocationsCsv(query, now)) text += chunk
      expect(text).toBe(onTheSpot)

      let first = ''
      for await (const chunk of await pool.reads.metrics.invocationsCsv(query, now)) {
        first = chunk
        break
      }
      expect(onTheSpot.startsWith(first)).toBe(true)
      // the one thread is free for the next read: the stopped export holds nothing
      expect((await pool.reads.metrics.summary('24h', now)).requests).toBe(6000)
    } finally {
      pool.close()
    }
  })
})
