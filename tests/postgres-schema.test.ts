import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { and, eq, gte, inArray, lt } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import { openDatabase, type OpenedDatabase } from '../src/db/open.ts'
import { openPostgres, type OpenedPostgres } from '../src/db/pg/open.ts'
import { rebuildRollupSql, rollupMigrationSql } from '../src/db/pg/rollup-sql.ts'
import * as pgSchema from '../src/db/pg/schema.ts'
import { searchMessages, toTsQuery } from '../src/db/pg/search.ts'
import { rebuildRollup } from '../src/db/rollup-sql.ts'
import * as schema from '../src/db/schema.ts'
import { seededRandom } from './seeded-random.ts'
import { skipWithoutPostgres, type TestDatabase, testDatabase } from './support/postgres.ts'

const PG_MIGRATIONS = join(import.meta.dir, '..', 'src', 'db', 'pg', 'migrations')
const NOW = Date.UTC(2026, 10, 27, 12, 0, 30)
const DAY = 86_400_000
const MODELS = ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'us.amazon.nova-pro-v1:0', 'odd,"model"']

/** Skipped, with a line saying why, where PostgreSQL is not installed; never skipped in CI. */
const skip = skipWithoutPostgres('tests/postgres-schema.test.ts')

const databases: TestDatabase[] = []
const closers: (() => unknown)[] = []
async function freshPostgres(): Promise<{ database: TestDatabase; store: OpenedPostgres }> {
  const database = await testDatabase()
  databases.push(database)
  const store = await openPostgres(database.url)
  closers.push(() => store.close())
  return { database, store }
}
function freshSqlite(): OpenedDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'pg-parity-'))
  const opened = openDatabase(join(dir, 'metrics.db'))
  closers.push(() => {
    opened.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return opened
}
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close()
  for (const database of databases.splice(0)) await database.drop()
})

/** Calls with every column varied: outcomes, error types (some missing), nulls, cache tokens, several days. */
function randomCalls(n: number, seed: number, firstId: number): schema.NewInvocation[] {
  const rand = seededRandom(seed)
  const types = ['ThrottlingException', 'ValidationException', 'NetworkError', null]
  return Array.from({ length: n }, (_, i) => {
    const r = rand()
    const outcome = r < 0.2 ? 'error' : r < 0.3 ? 'stopped' : 'ok'
    return {
      id: firstId + i,
      timestamp: new Date(NOW - Math.floor(rand() * 3 * DAY)),
      latencyMs: Math.floor(Math.exp(rand() * 14)),
      success: outcome === 'ok',
      modelId: MODELS[Math.floor(rand() * MODELS.length)]!,
      timeToFirstTokenMs: rand() < 0.3 ? null : Math.floor(Math.exp(rand() * 10)),
      inputTokens: rand() < 0.2 ? null : Math.floor(rand() * 5000),
      outputTokens: rand() < 0.3 ? null : Math.floor(rand() * 2000),
      errorType: outcome === 'ok' ? null : outcome === 'stopped' ? 'Stopped' : types[Math.floor(rand() * types.length)]!,
      attempts: 1 + Math.floor(rand() * 3),
      outcome,
      owner: rand() < 0.5 ? 'owner-a' : null,
      cacheReadInputTokens: rand() < 0.5 ? null : Math.floor(rand() * 20000),
      cacheWriteInputTokens: rand() < 0.5 ? null : Math.floor(rand() * 8000),
    }
  })
}

/** Every row of the three rollup tables, read through each dialect's drizzle table, in key order. */
async function rollupsOf(read: {
  rollup: () => Promise<Record<string, unknown>[]> | Record<string, unknown>[]
  errors: () => Promise<Record<string, unknown>[]> | Record<string, unknown>[]
  genAi: () => Promise<Record<string, unknown>[]> | Record<string, unknown>[]
}) {
  const sorted = (rows: Record<string, unknown>[], key: (r: Record<string, unknown>) => string) =>
    rows.map((r) => [key(r), r] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return {
    rollup: sorted(await read.rollup(), (r) => `${r.bucketMs}|${r.t}|${r.modelId}`),
    errors: sorted(await read.errors(), (r) => `${r.bucketMs}|${r.t}|${r.modelId}|${r.outcome}|${r.errorType}`),
    genAi: sorted(await read.genAi(), (r) => `${r.modelId}|${r.errorType}`),
  }
}
const sqliteRollups = ({ db }: OpenedDatabase) =>
  rollupsOf({
    rollup: () => db.select().from(schema.invocationRollup).all(),
    errors: () => db.select().from(schema.invocationErrorRollup).all(),
    genAi: () => db.select().from(schema.invocationGenAiRollup).all(),
  })
const pgRollups = ({ db }: OpenedPostgres) =>
  rollupsOf({
    rollup: () => db.select().from(pgSchema.invocationRollup),
    errors: () => db.select().from(pgSchema.invocationErrorRollup),
    genAi: () => db.select().from(pgSchema.invocationGenAiRollup),
  })

describe.skipIf(skip)('the PostgreSQL store', () => {
  let store: OpenedPostgres
  let storeUrl: string
  beforeAll(async () => {
    const fresh = await freshPostgres()
    store = fresh.store
    storeUrl = fresh.database.url
  })

  test('its migrations apply to a fresh database once, and opening it again applies none', async () => {
    const journal = JSON.parse(readFileSync(join(PG_MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }
    const applied = async () => (await store.sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`)[0]!.n
    expect(await applied()).toBe(journal.entries.length)
    const again = await openPostgres(storeUrl)
    await again.close()
    expect(await applied()).toBe(journal.entries.length)
  })

  test('two instances starting at once against a new database both start, and the migrations run once', async () => {
    const database = await testDatabase()
    databases.push(database)
    const [a, b] = await Promise.all([openPostgres(database.url), openPostgres(database.url)])
    const applied = await a.sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`
    await Promise.all([a.close(), b.close()])
    const journal = JSON.parse(readFileSync(join(PG_MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }
    expect(applied[0]!.n).toBe(journal.entries.length)
  })

  test("has SQLite's tables, columns (with their nullability), primary keys and indexes, by the same names", async () => {
    const { sqlite } = freshSqlite()
    const sqliteTables = sqlite
      .query<{ name: string }, []>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'messages_fts%' AND name <> '__drizzle_migrations' ORDER BY name",
      )
      .all()
      .map((t) => t.name)
    const sqliteShape = Object.fromEntries(
      sqliteTables.map((table) => [
        table,
        sqlite
          .query<{ name: string; notnull: number; pk: number }, []>(`SELECT name, "notnull", pk FROM pragma_table_info('${table}')`)
          .all()
          .map((c) => `${c.name}${c.notnull || c.pk ? ' not null' : ''}${c.pk ? ' key' : ''}`)
          .sort(),
      ]),
    )
    const pgColumns = await store.sql<{ table_name: string; column_name: string; is_nullable: string; key: boolean }[]>`
      SELECT c.table_name, c.column_name, c.is_nullable,
             EXISTS (SELECT 1 FROM information_schema.key_column_usage k
                     JOIN information_schema.table_constraints tc ON tc.constraint_name = k.constraint_name AND tc.constraint_type = 'PRIMARY KEY'
                     WHERE k.table_name = c.table_name AND k.column_name = c.column_name) AS key
      FROM information_schema.columns c WHERE c.table_schema = 'public'`
    const pgShape: Record<string, string[]> = {}
    for (const c of pgColumns) (pgShape[c.table_name] ??= []).push(`${c.column_name}${c.is_nullable === 'NO' ? ' not null' : ''}${c.key ? ' key' : ''}`)
    for (const columns of Object.values(pgShape)) columns.sort()
    expect(Object.keys(pgShape).sort()).toEqual(sqliteTables)
    expect(pgShape).toEqual(sqliteShape)
    // every drizzle table of each schema is a table of the other's
    const drizzleNames = (s: object) =>
      Object.values(s).flatMap((v) =>
        v && typeof v === 'object' && Symbol.for('drizzle:Name') in v ? [(v as Record<symbol, string>)[Symbol.for('drizzle:Name')]] : [],
      )
    expect(drizzleNames(pgSchema).sort()).toEqual(drizzleNames(schema).sort())

    const sqliteIndexes = sqlite
      .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name")
      .all()
      .map((i) => i.name)
    const pgIndexes = (await store.sql<{ indexname: string }[]>`SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`)
      .map((i) => i.indexname)
      .filter((name) => !name.endsWith('_pkey'))
    // SQLite searches with its FTS5 table messages_fts; PostgreSQL with the GIN index messages_search
    expect(pgIndexes).toEqual([...sqliteIndexes, 'messages_search'].sort())
  })

  test('its rollup migration is exactly what rollupMigrationSql() in src/db/pg/rollup-sql.ts generates', () => {
    const journal = JSON.parse(readFileSync(join(PG_MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] }
    const tag = journal.entries.find((e) => e.tag.endsWith('_rollup_triggers'))!.tag
    const statements = readFileSync(join(PG_MIGRATIONS, `${tag}.sql`), 'utf8')
      .split('--> statement-breakpoint')
      .map((s) => s.replace(/^--.*$/gm, '').trim())
    // when this fails after a change to the bounds, resolutions or SQL: generate a new migration
    // (bunx --bun drizzle-kit generate --config drizzle.pg.config.ts --custom) holding
    // rollupUpgradeSql() after its ALTERs, and point this test at it; never edit an applied one
    expect(statements).toEqual(rollupMigrationSql())
  })

  test("keeps every rollup row equal to SQLite's for the same calls, inserted, updated and deleted", async () => {
    const sqlite = freshSqlite()
    const { store: pg } = await freshPostgres()
    const both = async (sqliteSide: () => unknown, pgSide: () => Promise<unknown>) => {
      sqliteSide()
      await pgSide()
    }
    const calls = randomCalls(200, 7, 1)
    // one call per statement, then statements of many (several in one bucket: the PG trigger sums them first)
    for (const c of calls.slice(0, 20))
      await both(
        () => sqlite.db.insert(schema.invocations).values(c).run(),
        () => pg.db.insert(pgSchema.invocations).values(c),
      )
    for (let i = 20; i < calls.length; i += 60) {
      const batch = calls.slice(i, i + 60)
      await both(
        () => sqlite.db.insert(schema.invocations).values(batch).run(),
        () => pg.db.insert(pgSchema.invocations).values(batch),
      )
    }
    // values on and just past the bounds (1 ms, the GenAI 10 ms and 81.92 s; 1 and 67108864 tokens), and int4's edge
    const edges = [0, 1, 2, 10, 11, 81_920, 81_921, 67_108_864, 67_108_865, 2_000_000_000]
    const edgeCalls = edges.map((n, i) => ({
      ...calls[i]!,
      id: 1000 + i,
      latencyMs: n,
      timeToFirstTokenMs: n,
      inputTokens: n,
      outputTokens: n,
      cacheReadInputTokens: n,
    }))
    await both(
      () => sqlite.db.insert(schema.invocations).values(edgeCalls).run(),
      () => pg.db.insert(pgSchema.invocations).values(edgeCalls),
    )
    expect(await pgRollups(pg)).toEqual(await sqliteRollups(sqlite))

    // updates: one call's outcome, one call moved to another day and model, many calls at once
    await both(
      () =>
        sqlite.db
          .update(schema.invocations)
          .set({ outcome: 'error', success: false, errorType: 'ThrottlingException', latencyMs: 5 })
          .where(eq(schema.invocations.id, 3))
          .run(),
      () =>
        pg.db
          .update(pgSchema.invocations)
          .set({ outcome: 'error', success: false, errorType: 'ThrottlingException', latencyMs: 5 })
          .where(eq(pgSchema.invocations.id, 3)),
    )
    await both(
      () =>
        sqlite.db
          .update(schema.invocations)
          .set({ timestamp: new Date(NOW - 5 * DAY), modelId: MODELS[2]! })
          .where(eq(schema.invocations.id, 4))
          .run(),
      () =>
        pg.db
          .update(pgSchema.invocations)
          .set({ timestamp: new Date(NOW - 5 * DAY), modelId: MODELS[2]! })
          .where(eq(pgSchema.invocations.id, 4)),
    )
    const since = new Date(NOW - DAY)
    await both(
      () =>
        sqlite.db
          .update(schema.invocations)
          .set({ outputTokens: null, timeToFirstTokenMs: 42, cacheWriteInputTokens: 7 })
          .where(gte(schema.invocations.timestamp, since))
          .run(),
      () =>
        pg.db
          .update(pgSchema.invocations)
          .set({ outputTokens: null, timeToFirstTokenMs: 42, cacheWriteInputTokens: 7 })
          .where(gte(pgSchema.invocations.timestamp, since)),
    )
    expect(await pgRollups(pg)).toEqual(await sqliteRollups(sqlite))

    // deletes: a list of ids, one id, and a retention-style range (the maximum then stays an upper bound, in both)
    const ids = calls.filter((c) => c.id! % 7 === 0).map((c) => c.id!)
    await both(
      () => sqlite.db.delete(schema.invocations).where(inArray(schema.invocations.id, ids)).run(),
      () => pg.db.delete(pgSchema.invocations).where(inArray(pgSchema.invocations.id, ids)),
    )
    await both(
      () => sqlite.db.delete(schema.invocations).where(eq(schema.invocations.id, 1005)).run(),
      () => pg.db.delete(pgSchema.invocations).where(eq(pgSchema.invocations.id, 1005)),
    )
    const cutOff = new Date(NOW - 2 * DAY)
    await both(
      () => sqlite.db.delete(schema.invocations).where(lt(schema.invocations.timestamp, cutOff)).run(),
      () => pg.db.delete(pgSchema.invocations).where(lt(pgSchema.invocations.timestamp, cutOff)),
    )
    const kept = await pgRollups(pg)
    expect(kept).toEqual(await sqliteRollups(sqlite))
    // the comparison is not vacuous: every resolution, model, error type and GenAI histogram has rows
    expect(kept.rollup.length).toBeGreaterThan(300)
    expect(kept.errors.length).toBeGreaterThan(100)
    expect(kept.genAi.length).toBeGreaterThan(8)
    expect(kept.rollup.some(([, r]) => r.requests === 0)).toBe(true) // emptied buckets stay, with zeros, in both

    // and rebuilding from the calls gives SQLite's rebuild (zero rows gone, maxima exact again)
    await pg.sql.begin(async (tx) => {
      for (const statement of rebuildRollupSql()) await tx.unsafe(statement)
    })
    rebuildRollup(sqlite.db)
    expect(await pgRollups(pg)).toEqual(await sqliteRollups(sqlite))
  }, 60_000)

  test('calls recorded, updated and deleted over several connections at once keep the rollups exact, without deadlocks', async () => {
    const { store: pg } = await freshPostgres()
    const sqlite = freshSqlite()
    const before = randomCalls(150, 17, 1)
    sqlite.db.insert(schema.invocations).values(before).run()
    await pg.db.insert(pgSchema.invocations).values(before)
    const added = randomCalls(120, 19, 1000)
    const deleted = before.filter((c) => c.id! % 3 === 0).map((c) => c.id!)
    const updated = before.filter((c) => c.id! % 3 === 1).map((c) => c.id!)
    const chunks = <T>(xs: T[], n: number) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n))
    const set = { latencyMs: 1234, outcome: 'stopped' as const, success: false, errorType: 'Stopped', modelId: MODELS[0]! }
    // on PostgreSQL at once, over the pool's connections: one-call inserts, batched deletes (retention) and batched updates
    await Promise.all([
      ...chunks(added, 30).map(async (mine) => {
        for (const c of mine) await pg.db.insert(pgSchema.invocations).values(c)
      }),
      ...chunks(deleted, 10).map((ids) => pg.db.delete(pgSchema.invocations).where(inArray(pgSchema.invocations.id, ids))),
      ...chunks(updated, 10).map((ids) => pg.db.update(pgSchema.invocations).set(set).where(inArray(pgSchema.invocations.id, ids))),
    ])
    // on SQLite one after another: the final rollups do not depend on the order
    sqlite.db.insert(schema.invocations).values(added).run()
    sqlite.db.delete(schema.invocations).where(inArray(schema.invocations.id, deleted)).run()
    sqlite.db.update(schema.invocations).set(set).where(inArray(schema.invocations.id, updated)).run()
    expect(await pgRollups(pg)).toEqual(await sqliteRollups(sqlite))
  }, 60_000)

  test('the same rollups whatever the session time zone (bucket starts are UTC epoch ms)', async () => {
    const { database, store: pg } = await freshPostgres()
    const kolkata = postgres(database.url, { max: 1, connection: { TimeZone: 'Asia/Kolkata' }, onnotice: () => {} })
    closers.push(() => kolkata.end({ timeout: 5 }))
    const calls = randomCalls(50, 11, 1)
    await drizzle({ client: kolkata, schema: pgSchema }).insert(pgSchema.invocations).values(calls)
    const sqlite = freshSqlite()
    sqlite.db.insert(schema.invocations).values(calls).run()
    expect(await pgRollups(pg)).toEqual(await sqliteRollups(sqlite))
  })

  test('dates, flags, bytes, big integers and doubles come back as they went in, with their JavaScript types', async () => {
    const at = new Date(Date.UTC(2026, 10, 27, 12, 0, 30, 123))
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i)) // every byte value, NUL included
    await store.db
      .insert(pgSchema.conversations)
      .values({ id: 'c1', owner: 'o', title: 'Types', temperature: 0.7, promptCaching: false, createdAt: at, updatedAt: new Date(0) })
    await store.db.insert(pgSchema.messages).values({
      id: 'm1',
      conversationId: 'c1',
      seq: 0,
      role: 'user',
      text: 'hi',
      status: 'done',
      invocationId: Number.MAX_SAFE_INTEGER,
      createdAt: at,
      progressAt: null,
    })
    await store.db.insert(pgSchema.attachments).values({
      id: 'a1',
      messageId: 'm1',
      kind: 'document',
      format: 'txt',
      name: 'bytes',
      originalName: 'bytes.bin',
      mediaType: 'application/octet-stream',
      size: bytes.length,
      bytes,
    })
    const bigId = 2 ** 40
    await store.db.insert(pgSchema.invocations).values({ ...randomCalls(1, 3, bigId)[0]!, timestamp: at, success: true })

    const [conversation] = await store.db.select().from(pgSchema.conversations).where(eq(pgSchema.conversations.id, 'c1'))
    expect(conversation!.createdAt).toBeInstanceOf(Date)
    expect(conversation!.createdAt.getTime()).toBe(at.getTime())
    expect(conversation!.updatedAt.getTime()).toBe(0)
    expect(conversation!.promptCaching).toBe(false)
    expect(conversation!.temperature).toBe(0.7) // double precision: exactly the JavaScript number
    const [message] = await store.db.select().from(pgSchema.messages)
    expect(message!.invocationId).toBe(Number.MAX_SAFE_INTEGER)
    expect(message!.progressAt).toBeNull()
    const [attachment] = await store.db.select().from(pgSchema.attachments)
    expect(Buffer.isBuffer(attachment!.bytes)).toBe(true)
    expect(attachment!.bytes.equals(bytes)).toBe(true)
    const [call] = await store.db.select().from(pgSchema.invocations).where(eq(pgSchema.invocations.id, bigId))
    expect(call!.id).toBe(bigId)
    expect(call!.success).toBe(true)
    expect(call!.timestamp.getTime()).toBe(at.getTime())
    const [bucket] = await store.db
      .select({ t: pgSchema.invocationRollup.t })
      .from(pgSchema.invocationRollup)
      .where(and(eq(pgSchema.invocationRollup.bucketMs, 60_000), eq(pgSchema.invocationRollup.modelId, '*')))
    expect(bucket!.t).toBe(at.getTime() - (at.getTime() % 60_000)) // epoch ms past int4, as a number

    // a session in another time zone reads the same instants (the server answers "…+05:30")
    const kolkata = postgres(storeUrl, { max: 1, connection: { TimeZone: 'Asia/Kolkata' }, onnotice: () => {} })
    closers.push(() => kolkata.end({ timeout: 5 }))
    const [again] = await drizzle({ client: kolkata, schema: pgSchema }).select().from(pgSchema.conversations).where(eq(pgSchema.conversations.id, 'c1'))
    expect(again!.createdAt.getTime()).toBe(at.getTime())
  })

  describe('full-text search', () => {
    let search: OpenedPostgres
    beforeAll(async () => {
      search = (await freshPostgres()).store
      const day = (n: number) => new Date(NOW - n * DAY)
      await search.db.insert(pgSchema.conversations).values([
        { id: 'trip', owner: 'alice', title: 'Trip', createdAt: day(3), updatedAt: day(3) },
        { id: 'school', owner: 'alice', title: 'School', createdAt: day(2), updatedAt: day(2) },
        { id: 'mail', owner: 'alice', title: 'Mail', createdAt: day(1), updatedAt: day(1) },
        { id: 'other', owner: 'bob', title: 'Not yours', createdAt: day(0), updatedAt: day(0) },
      ])
      const message = (id: string, conversationId: string, seq: number, text: string) => ({
        id,
        conversationId,
        seq,
        role: 'user' as const,
        text,
        status: 'done' as const,
        createdAt: day(1),
      })
      await search.db
        .insert(pgSchema.messages)
        .values([
          message('t1', 'trip', 0, 'Plan a weekend in Lisbon with trams and pastries'),
          message('t2', 'trip', 1, 'The tram 28 goes up to the castle; pastries at Belém are the best known'),
          message('s1', 'school', 0, "L'École primaire est fermée le mercredi; version 3.14 of the timetable"),
          message('m1', 'mail', 0, 'Write to ops@example.com about the Lisbon invoice'),
          message('o1', 'other', 0, 'Lisbon for Bob only'),
        ])
    })

    test('finds a whole word, newest conversation first, only among the owner’s own', async () => {
      const hits = await searchMessages(search.db, 'alice', 'lisbon')
      expect(hits.map((h) => h.conversationId)).toEqual(['mail', 'trip'])
      expect(hits[0]!.updatedAt).toBeInstanceOf(Date)
      expect(hits[0]!.updatedAt.getTime()).toBe(NOW - DAY)
      expect((await searchMessages(search.db, 'bob', 'lisbon')).map((h) => h.conversationId)).toEqual(['other'])
    })

    test('matches the last word as a prefix, and every word must match', async () => {
      expect((await searchMessages(search.db, 'alice', 'pastr')).map((h) => h.conversationId)).toEqual(['trip'])
      expect((await searchMessages(search.db, 'alice', 'tram castl')).map((h) => h.messageId)).toEqual(['t2'])
      expect(await searchMessages(search.db, 'alice', 'castl tram')).toEqual([]) // only the last word is a prefix
      expect(await searchMessages(search.db, 'alice', 'lisbon castle')).toEqual([])
    })

    test('ignores case, accented capitals included, and finds addresses and numbers as written', async () => {
      expect((await searchMessages(search.db, 'alice', 'école')).map((h) => h.conversationId)).toEqual(['school'])
      expect((await searchMessages(search.db, 'alice', 'ÉCOLE PRIMAIRE')).map((h) => h.conversationId)).toEqual(['school'])
      expect((await searchMessages(search.db, 'alice', 'ops@example.com')).map((h) => h.conversationId)).toEqual(['mail'])
      expect((await searchMessages(search.db, 'alice', '3.14')).map((h) => h.conversationId)).toEqual(['school'])
    })

    test('marks the match in a snippet of about twelve words', async () => {
      const [hit] = await searchMessages(search.db, 'alice', 'castl')
      expect(hit!.snippet).toContain('\u0001castle\u0002')
      expect(hit!.snippet.split(/\s+/).length).toBeLessThanOrEqual(13)
    })

    test('takes any text without a syntax error: quotes, backslashes, tsquery operators, punctuation alone', async () => {
      for (const query of ["it's", 'a\\b', "'", ':*', '& | ! ( ) <->', "l'école", '🙂', '---']) {
        expect(Array.isArray(await searchMessages(search.db, 'alice', query))).toBe(true)
      }
      expect(await searchMessages(search.db, 'alice', '   ')).toEqual([])
      expect((await searchMessages(search.db, 'alice', "l'école")).map((h) => h.conversationId)).toEqual(['school'])
      expect(toTsQuery("it's a:b")).toBe("'it''s' & 'a:b':*")
    })

    test('is answered from the GIN index messages_search', async () => {
      const plan = await search.sql.begin(async (tx) => {
        await tx`SET LOCAL enable_seqscan = off`
        return tx.unsafe(`EXPLAIN SELECT id FROM messages WHERE to_tsvector('simple', text) @@ to_tsquery('simple', $1)`, [toTsQuery('lisbon')!])
      })
      expect(plan.map((row) => Object.values(row)[0]).join('\n')).toContain('messages_search')
    })
  })
})
