import { afterAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { openPostgresStore } from '../src/store.ts'
import { browser, eventually, makeApp, unique, type TestApp } from './helpers.ts'
import { skipWithoutPostgres, startPostgres, testDatabase, type PostgresServer, type TestDatabase } from './support/postgres.ts'

/**
 * PostgreSQL misbehaving under the app, as a fleet's shared store does: read-only (a failover in
 * progress, a replica promoted late), or gone altogether. The same policy as SQLite's: nothing is
 * sent that cannot be recorded, pages say what is wrong, health answers, and it all comes back.
 */

const skip = skipWithoutPostgres('tests/postgres-faults.test.ts')
const opened: TestApp[] = []
const databases: TestDatabase[] = []
const servers: PostgresServer[] = []
afterAll(async () => {
  for (const t of opened) await t.close()
  for (const d of databases) await d.drop()
  for (const s of servers) await s.stop()
}, 30_000)

async function appOn(url: string, readTimeoutMs?: number) {
  const t = await makeApp({ deps: { store: await openPostgresStore(url, { readTimeoutMs }) } })
  opened.push(t)
  return t
}

/** Every session of the app's database ends (as in a failover); the pools open new ones. */
async function dropConnections(admin: postgres.Sql, name: string) {
  await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name} AND pid <> pg_backend_pid()`
}

describe.skipIf(skip)('PostgreSQL faults', () => {
  test('a read-only database: a message is refused in words and nothing is sent, /readyz says so, and it works again by itself once writable', async () => {
    const database = await testDatabase()
    databases.push(database)
    const name = new URL(database.url).pathname.slice(1)
    const t = await appOn(database.url)
    const admin = postgres(database.url.replace(`/${name}`, '/postgres'), { max: 1, onnotice: () => {} })
    try {
      const you = browser(t.app)
      await you.get('/')
      expect((await you.send(unique('before the failover'))).body).toContain('Emulated reply to')

      await admin.unsafe(`ALTER DATABASE ${name} SET default_transaction_read_only = on`)
      await dropConnections(admin, name)
      const first = await browser(t.app).send(unique('while read-only'))
      expect(first.body).toContain('could not be saved, so it was not sent')
      await eventually(async () => expect((await t.app.request('http://localhost/readyz')).status).toBe(503))
      const ready = (await (await t.app.request('http://localhost/readyz')).json()) as { problems: string[] }
      expect(ready.problems[0]).toStartWith('The database cannot be written')
      const text = unique('a message that could not be recorded')
      const refused = await browser(t.app).send(text)
      expect(refused.res.status).toBe(503)
      expect(refused.body).toContain('Messages cannot be saved right now')
      expect(t.emulator.requests.filter((r) => JSON.stringify(r.body).includes(text))).toHaveLength(0)
      // reads go on: the conversation saved before is there
      expect((await you.get(you.conversation!)).status).toBe(200)

      await admin.unsafe(`ALTER DATABASE ${name} SET default_transaction_read_only = off`)
      await dropConnections(admin, name)
      await eventually(async () => expect((await t.app.request('http://localhost/readyz')).status).toBe(200), 10_000)
      expect((await you.send(unique('after the failover'))).body).toContain('Emulated reply to')
    } finally {
      await admin.end({ timeout: 5 })
    }
  })

  test('a database server that is gone: pages answer 503 in words within the read timeout, /healthz answers, and no message is sent', async () => {
    const server = await startPostgres()
    servers.push(server)
    const t = await appOn(server.url, 1000)
    const you = browser(t.app)
    await you.get('/')
    expect((await you.send(unique('before the server went'))).body).toContain('Emulated reply to')
    const conversation = you.conversation!
    await server.stop()

    expect((await t.app.request('http://localhost/healthz')).status).toBe(200)
    const page = await you.get(conversation)
    expect(page.status).toBe(503)
    expect(await page.text()).toContain('The database is not answering')
    const text = unique('sent with no database')
    const sent = await you.send(text)
    expect(sent.body).toMatch(/not answering|could not be saved|cannot be saved/)
    expect(t.emulator.requests.filter((r) => JSON.stringify(r.body).includes(text))).toHaveLength(0)
    await eventually(async () => expect((await t.app.request('http://localhost/readyz')).status).toBe(503))
  })
})
