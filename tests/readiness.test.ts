import { afterAll, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { createReadiness } from '../src/services/readiness.ts'
import { browser, eventually, makeApp, TEST_STORE, type TestApp } from './helpers.ts'

/** /healthz and /readyz, and the dashboard's banner, against the real app and its database. */

const opened: TestApp[] = []
afterAll(async () => {
  for (const t of opened) await t.close()
})

describe('health for load balancers and orchestrators', () => {
  // SQLite's own: another process's write lock on the file (BEGIN IMMEDIATE); PostgreSQL locks rows, not the database
  test.skipIf(TEST_STORE === 'postgres')('/healthz answers while another process holds the database write lock', async () => {
    const t = await makeApp()
    opened.push(t)
    const other = new Database(t.config.METRICS_DB_PATH)
    other.exec('BEGIN IMMEDIATE')
    try {
      const res = await t.app.request('http://localhost/healthz')
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ ok: true })
    } finally {
      other.exec('ROLLBACK')
      other.close()
    }
  })

  // SQLite's own: the writer's connection turned read-only (PRAGMA query_only); no PostgreSQL counterpart yet
  test.skipIf(TEST_STORE === 'postgres')(
    '/readyz says the database cannot be written while it cannot, and recovers by itself; the dashboard shows a banner meanwhile',
    async () => {
      const t = await makeApp()
      opened.push(t)
      const ready = await t.app.request('http://localhost/readyz')
      expect(ready.status).toBe(200)
      expect(await ready.json()).toMatchObject({ ok: true, database: 'ok', log: 'ok', problems: [] })
      expect(await (await t.app.request('http://localhost/dashboard')).text()).toContain('id="health-banner" class="health-banner" role="alert" hidden=""')

      // the app's own connection refuses writes, as after a read-only remount
      await t.deps.writer.exec('PRAGMA query_only = ON')
      const you = browser(t.app)
      await you.get('/')
      const first = await you.send('a message while the disk refuses writes')
      expect(first.body).toContain('could not be saved, so it was not sent')
      // nothing of the new chat was stored: the page goes back to a new chat, not to an address that leads to a 404
      const lastMeta = [...first.body.matchAll(/id="conversation-meta" hidden="" data-url="([^"]*)" data-post="([^"]+)"/g)].at(-1)!
      expect([lastMeta[1], lastMeta[2]]).toEqual(['/', '/c/new/messages'])
      const degraded = await t.app.request('http://localhost/readyz')
      expect(degraded.status).toBe(503)
      const body = (await degraded.json()) as { ok: boolean; database: string; problems: string[] }
      expect(body.ok).toBe(false)
      expect(body.database).toContain('failing since')
      expect(body.problems[0]).toContain('The database cannot be written')
      const page = await (await t.app.request('http://localhost/dashboard')).text()
      expect(page).toContain('The app is degraded.')

      // while it cannot write, a message is refused in words before anything goes to Bedrock
      const refused = await browser(t.app).send('a message that could not be recorded')
      expect(refused.res.status).toBe(503)
      expect(refused.body).toContain('Messages cannot be saved right now')
      expect(t.emulator.requests.filter((r) => JSON.stringify(r.body).includes('could not be recorded'))).toHaveLength(0)

      // once the fault clears, the writer finds out by itself and messages go through again
      await t.deps.writer.exec('PRAGMA query_only = OFF')
      await eventually(async () => expect((await t.app.request('http://localhost/readyz')).status).toBe(200))
      const again = await you.send('a message once it can write again')
      expect(again.body).toContain('Emulated reply to')
      const saved = again.body.match(/data-url="(\/c\/[\w-]+)"/)![1]!
      expect((await you.get(saved)).status).toBe(200)
    },
  )

  test('the dashboard process with no database yet says so', () => {
    const readiness = createReadiness({
      databaseReadable: () => ({ ok: false, since: new Date(0), reason: 'No readable metrics database at metrics/metrics.db yet' }),
    })()
    expect(readiness.ok).toBe(false)
    expect(readiness.problems).toEqual(['The database cannot be read: No readable metrics database at metrics/metrics.db yet'])
  })
})
