import { afterEach, describe, expect, test } from 'bun:test'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Database } from 'bun:sqlite'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { migrate } from 'drizzle-orm/bun-sqlite/migrator'
import { eq, inArray } from 'drizzle-orm'
import { openDatabase } from '../src/db/open.ts'
import * as schema from '../src/db/schema.ts'
import {
  ALL_MODELS,
  ALL_TIME,
  GEN_AI_BUCKETS,
  GEN_AI_DURATION_BOUNDS_MS,
  GEN_AI_DURATION_BOUNDS_S,
  GEN_AI_HISTOGRAMS,
  GEN_AI_NO_ERROR,
  GEN_AI_TOKEN_BOUNDS,
  genAiColumnName,
  HISTOGRAM_BOUNDS_MS,
  HISTOGRAM_BUCKETS,
  ROLLUP_BUCKETS_MS,
  histogramColumnName,
  invocations,
  type NewInvocation,
} from '../src/db/schema.ts'
import { coverWindow, RANGES, RANGE_KEYS, rangeWindow } from '../src/services/metrics/ranges.ts'
import { rebuildRollup, rollupMigrationSql, rollupUpgradeSql, UNKNOWN_ERROR_TYPE } from '../src/db/rollup-sql.ts'
import { seededRandom } from './seeded-random.ts'

const MIGRATIONS = join(import.meta.dir, '..', 'src', 'db', 'migrations')
const NOW = Date.UTC(2026, 10, 27, 12, 0, 30)
const DAY = 86_400_000
const MODELS = ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'us.amazon.nova-pro-v1:0', 'odd,"model"']
const LEVELS = [...ROLLUP_BUCKETS_MS, ALL_TIME]

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup()
})

function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'metrics-rollup-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function randomCalls(n: number, seed: number): NewInvocation[] {
  const rand = seededRandom(seed)
  const types = ['ThrottlingException', 'ValidationException', 'NetworkError', null]
  return Array.from({ length: n }, () => {
    const r = rand()
    const outcome = r < 0.2 ? 'error' : r < 0.3 ? 'stopped' : 'ok'
    return {
      timestamp: new Date(NOW - Math.floor(rand() * 9 * DAY)),
      latencyMs: Math.floor(Math.exp(rand() * 14)),
      success: outcome === 'ok',
      modelId: MODELS[Math.floor(rand() * MODELS.length)]!,
      timeToFirstTokenMs: rand() < 0.3 ? null : Math.floor(Math.exp(rand() * 10)),
      inputTokens: rand() < 0.2 ? null : Math.floor(rand() * 5000),
      outputTokens: rand() < 0.3 ? null : Math.floor(rand() * 2000),
      errorType: outcome === 'ok' ? null : outcome === 'stopped' ? 'Stopped' : types[Math.floor(rand() * types.length)]!,
      attempts: 1,
      outcome,
      cacheReadInputTokens: rand() < 0.5 ? null : Math.floor(rand() * 20000),
      cacheWriteInputTokens: rand() < 0.5 ? null : Math.floor(rand() * 8000),
    }
  })
}

/** The bucket of a latency, straight from the bounds (independent of the SQL CASE). */
function bucketOf(ms: number): number {
  const i = HISTOGRAM_BOUNDS_MS.findIndex((bound) => ms <= bound)
  return i === -1 ? HISTOGRAM_BUCKETS - 1 : i
}

/** The bucket of a value in one of the OpenTelemetry GenAI boundary lists: (lower, upper], then the overflow. */
function genAiBucketOf(value: number, bounds: readonly number[]): number {
  const i = bounds.findIndex((bound) => value <= bound)
  return i === -1 ? bounds.length : i
}

type Expected = Record<string, number | string>

/**
 * The rollup as it should be, computed here from the calls one by one: every resolution, every
 * model and ALL_MODELS. The oracle the triggers and the rebuild are checked against.
 */
function expectedRollup(sqlite: Database): { rollup: Map<string, Expected>; errors: Map<string, number>; genAi: Map<string, Expected> } {
  const calls = sqlite
    .query<
      {
        timestamp: number
        latency_ms: number
        model_id: string
        time_to_first_token_ms: number | null
        input_tokens: number | null
        output_tokens: number | null
        outcome: string
        error_type: string | null
        cache_read_input_tokens: number | null
        cache_write_input_tokens: number | null
      },
      []
    >(
      'SELECT timestamp, latency_ms, model_id, time_to_first_token_ms, input_tokens, output_tokens, outcome, error_type, cache_read_input_tokens, cache_write_input_tokens FROM invocations',
    )
    .all()
  const rollup = new Map<string, Expected>()
  const errors = new Map<string, number>()
  const genAi = new Map<string, Expected>()
  for (const c of calls) {
    const errorType = c.outcome === 'ok' ? GEN_AI_NO_ERROR : (c.error_type ?? UNKNOWN_ERROR_TYPE)
    const genAiKey = `${c.model_id}|${errorType}`
    const g = genAi.get(genAiKey) ?? emptyGenAiRow(c.model_id, errorType)
    const addG = (column: string, n: number) => (g[column] = Number(g[column]) + n)
    addG('calls', 1)
    addG('duration_sum_ms', c.latency_ms)
    addG(genAiColumnName('dur', genAiBucketOf(c.latency_ms, GEN_AI_DURATION_BOUNDS_MS)), 1)
    if (c.time_to_first_token_ms !== null) {
      addG('ttfc_count', 1)
      addG('ttfc_sum_ms', c.time_to_first_token_ms)
      addG(genAiColumnName('ttfc', genAiBucketOf(c.time_to_first_token_ms, GEN_AI_DURATION_BOUNDS_MS)), 1)
    }
    if (c.input_tokens !== null) {
      // the spec's input tokens include the prompt-cache reads and writes
      const input = c.input_tokens + (c.cache_read_input_tokens ?? 0) + (c.cache_write_input_tokens ?? 0)
      addG('input_calls', 1)
      addG('input_tokens', input)
      addG(genAiColumnName('in', genAiBucketOf(input, GEN_AI_TOKEN_BOUNDS)), 1)
    }
    if (c.output_tokens !== null) {
      addG('output_calls', 1)
      addG('output_tokens', c.output_tokens)
      addG(genAiColumnName('out', genAiBucketOf(c.output_tokens, GEN_AI_TOKEN_BOUNDS)), 1)
    }
    genAi.set(genAiKey, g)
    for (const level of LEVELS) {
      const t = level === ALL_TIME ? 0 : c.timestamp - (c.timestamp % level)
      for (const model of [c.model_id, ALL_MODELS]) {
        const key = `${level}|${t}|${model}`
        const row = rollup.get(key) ?? emptyRow(level, t, model)
        const add = (column: string, n: number) => (row[column] = Number(row[column]) + n)
        add('requests', 1)
        add(c.outcome === 'ok' ? 'ok' : c.outcome === 'error' ? 'errors' : 'stopped', 1)
        add('latency_sum', c.latency_ms)
        row.latency_max = Math.max(Number(row.latency_max), c.latency_ms)
        if (c.time_to_first_token_ms !== null) {
          add('ttft_count', 1)
          add('ttft_sum', c.time_to_first_token_ms)
          add(histogramColumnName('ttft', bucketOf(c.time_to_first_token_ms)), 1)
        }
        if (c.input_tokens !== null) {
          add('input_calls', 1)
          add('input_tokens', c.input_tokens)
        }
        if (c.output_tokens !== null) {
          add('output_calls', 1)
          add('output_tokens', c.output_tokens)
          add('output_latency_ms', c.latency_ms)
        }
        add('cache_read_input_tokens', c.cache_read_input_tokens ?? 0)
        add('cache_write_input_tokens', c.cache_write_input_tokens ?? 0)
        add(histogramColumnName('lat', bucketOf(c.latency_ms)), 1)
        rollup.set(key, row)
        if (c.outcome !== 'ok') {
          const errorKey = `${level}|${t}|${model}|${c.outcome}|${c.error_type ?? UNKNOWN_ERROR_TYPE}`
          errors.set(errorKey, (errors.get(errorKey) ?? 0) + 1)
        }
      }
    }
  }
  return { rollup, errors, genAi }
}

function emptyGenAiRow(model: string, errorType: string): Expected {
  const row: Expected = { model_id: model, error_type: errorType }
  for (const c of ['calls', 'duration_sum_ms', 'ttfc_count', 'ttfc_sum_ms', 'input_calls', 'input_tokens', 'output_calls', 'output_tokens']) row[c] = 0
  for (const prefix of GEN_AI_HISTOGRAMS) for (let i = 0; i < GEN_AI_BUCKETS; i++) row[genAiColumnName(prefix, i)] = 0
  return row
}

function emptyRow(level: number, t: number, model: string): Expected {
  const row: Expected = { bucket_ms: level, t, model_id: model }
  const counters = ['requests', 'ok', 'errors', 'stopped', 'latency_sum', 'latency_max', 'ttft_count', 'ttft_sum']
  const tokens = ['input_calls', 'output_calls', 'input_tokens', 'output_tokens', 'output_latency_ms', 'cache_read_input_tokens', 'cache_write_input_tokens']
  for (const c of [...counters, ...tokens]) row[c] = 0
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) row[histogramColumnName('lat', i)] = row[histogramColumnName('ttft', i)] = 0
  return row
}

function actualRollup(sqlite: Database) {
  const rollup = new Map<string, Expected>()
  for (const row of sqlite.query<Expected, []>('SELECT * FROM invocation_rollup WHERE requests <> 0').all()) {
    rollup.set(`${row.bucket_ms}|${row.t}|${row.model_id}`, row)
  }
  const errors = new Map<string, number>()
  for (const row of sqlite.query<Expected & { count: number }, []>('SELECT * FROM invocation_error_rollup WHERE count <> 0').all()) {
    errors.set(`${row.bucket_ms}|${row.t}|${row.model_id}|${row.outcome}|${row.error_type}`, row.count)
  }
  const genAi = new Map<string, Expected>()
  for (const row of sqlite.query<Expected, []>('SELECT * FROM invocation_gen_ai_rollup WHERE calls <> 0').all()) {
    genAi.set(`${row.model_id}|${row.error_type}`, row)
  }
  return { rollup, errors, genAi }
}

/** Compares as sorted entries, so a difference names its bucket. */
function expectRollupMatchesCalls(sqlite: Database, { exactMax = true } = {}) {
  const expected = expectedRollup(sqlite)
  const actual = actualRollup(sqlite)
  const strip = (m: Map<string, Expected>) =>
    [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, exactMax ? v : { ...v, latency_max: 0 }])
  expect(strip(actual.rollup)).toEqual(strip(expected.rollup))
  expect([...actual.errors.entries()].sort()).toEqual([...expected.errors.entries()].sort())
  expect(strip(actual.genAi)).toEqual(strip(expected.genAi))
}

describe('the rollup', () => {
  test('equals a GROUP BY over the calls after random inserts through the triggers', () => {
    const { db, sqlite } = openDatabase(join(tempDir(), 'metrics.db'))
    cleanups.push(() => sqlite.close())
    const calls = randomCalls(2000, 5)
    for (let i = 0; i < calls.length; i += 150)
      db.insert(invocations)
        .values(calls.slice(i, i + 150))
        .run()
    for (const c of calls.slice(0, 40)) db.insert(invocations).values(c).run()
    // values on and just past the GenAI boundaries (10 ms, 81.92 s; 1 and 67108864 tokens)
    const edges = [0, 1, 2, 10, 11, 81_920, 81_921, 67_108_864, 67_108_865]
    db.insert(invocations)
      .values(edges.map((n, i) => ({ ...calls[i]!, latencyMs: n, timeToFirstTokenMs: n, inputTokens: n, outputTokens: n, cacheReadInputTokens: null })))
      .run()
    expectRollupMatchesCalls(sqlite)
  }, 30_000)

  test('follows deletes and updates (the maximum then stays an upper bound)', () => {
    const { db, sqlite } = openDatabase(join(tempDir(), 'metrics.db'))
    cleanups.push(() => sqlite.close())
    db.insert(invocations).values(randomCalls(600, 9)).run()
    const ids = sqlite
      .query<{ id: number }, []>('SELECT id FROM invocations WHERE id % 7 = 0')
      .all()
      .map((r) => r.id)
    db.delete(invocations).where(inArray(invocations.id, ids)).run()
    db.update(invocations).set({ outcome: 'error', success: false, errorType: 'ThrottlingException', latencyMs: 5 }).where(eq(invocations.id, 3)).run()
    db.update(invocations)
      .set({ timestamp: new Date(NOW - 3 * DAY), modelId: MODELS[2]! })
      .where(eq(invocations.id, 4))
      .run()
    expectRollupMatchesCalls(sqlite, { exactMax: false })
  }, 30_000)

  test('the rebuild statements give exactly what the triggers kept', () => {
    const { db, sqlite } = openDatabase(join(tempDir(), 'metrics.db'))
    cleanups.push(() => sqlite.close())
    db.insert(invocations).values(randomCalls(1500, 13)).run()
    const kept = actualRollup(sqlite)
    rebuildRollup(db)
    const rebuilt = actualRollup(sqlite)
    expect([...rebuilt.rollup.entries()].sort()).toEqual([...kept.rollup.entries()].sort())
    expect([...rebuilt.errors.entries()].sort()).toEqual([...kept.errors.entries()].sort())
    expect([...rebuilt.genAi.entries()].sort()).toEqual([...kept.genAi.entries()].sort())
  }, 30_000)

  test('the migration back-fills calls recorded before it', () => {
    const dir = tempDir()
    // the migrations folder as it was before the rollup: only 0000
    const before = join(dir, 'migrations-0000')
    mkdirSync(join(before, 'meta'), { recursive: true })
    const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] }
    writeFileSync(join(before, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, 1) }))
    copyFileSync(join(MIGRATIONS, `${journal.entries[0]!.tag}.sql`), join(before, `${journal.entries[0]!.tag}.sql`))

    const path = join(dir, 'metrics.db')
    const sqlite = new Database(path, { create: true, strict: true })
    const db = drizzle({ client: sqlite, schema })
    migrate(db, { migrationsFolder: before })
    // the columns 0000 made (today's schema has more, which drizzle's insert would name)
    const insertOld = sqlite.prepare(
      'INSERT INTO invocations (timestamp, latency_ms, success, model_id, time_to_first_token_ms, input_tokens, output_tokens, error_type, attempts, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    sqlite.transaction(() => {
      for (const c of randomCalls(800, 21)) {
        insertOld.run(
          c.timestamp.getTime(),
          c.latencyMs,
          c.success ? 1 : 0,
          c.modelId,
          c.timeToFirstTokenMs ?? null,
          c.inputTokens ?? null,
          c.outputTokens ?? null,
          c.errorType ?? null,
          c.attempts ?? 1,
          c.outcome,
        )
      }
    })()
    expect(sqlite.query('SELECT name FROM sqlite_master WHERE name = ?').all('invocation_rollup')).toEqual([])
    sqlite.close()

    const upgraded = openDatabase(path)
    cleanups.push(() => upgraded.close())
    expectRollupMatchesCalls(upgraded.sqlite)
    upgraded.db.insert(invocations).values(randomCalls(100, 22)).run()
    expectRollupMatchesCalls(upgraded.sqlite)
  })

  test('migration 0010, the newest rollup migration, is exactly what rollupUpgradeSql() generates after its CREATE TABLE', () => {
    const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] }
    const tag = journal.entries.find((e) => e.tag.startsWith('0010_'))!.tag
    const statements = readFileSync(join(MIGRATIONS, `${tag}.sql`), 'utf8')
      .split('--> statement-breakpoint')
      .map((s) => s.replace(/^--.*$/gm, '').trim())
      .filter((s) => !s.startsWith('CREATE TABLE'))
    // when this fails after a change to the bounds, resolutions or SQL: generate a new migration
    // (bunx --bun drizzle-kit generate, or --custom) and append rollupUpgradeSql() to it; never edit 0002, 0009 or 0010
    expect(statements).toEqual(rollupUpgradeSql())
    expect(rollupUpgradeSql().slice(3)).toEqual(rollupMigrationSql())
  })

  test('a database from before prompt caching upgrades: its rollups stay exact and gain the cache sums', () => {
    const dir = tempDir()
    // the migrations folder as it was before prompt caching: 0000 to 0007
    const before = join(dir, 'migrations-0007')
    mkdirSync(join(before, 'meta'), { recursive: true })
    const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] }
    const old = journal.entries.filter((e) => Number(e.tag.slice(0, 4)) <= 7)
    writeFileSync(join(before, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries: old }))
    for (const e of old) copyFileSync(join(MIGRATIONS, `${e.tag}.sql`), join(before, `${e.tag}.sql`))

    const path = join(dir, 'metrics.db')
    const sqlite = new Database(path, { create: true, strict: true })
    migrate(drizzle({ client: sqlite, schema }), { migrationsFolder: before })
    const insertOld = sqlite.prepare(
      'INSERT INTO invocations (timestamp, latency_ms, success, model_id, time_to_first_token_ms, input_tokens, output_tokens, error_type, attempts, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    sqlite.run("INSERT INTO conversations (id, owner, title, created_at, updated_at) VALUES ('c1', 'o', 'Old chat', 1, 1)")
    sqlite.transaction(() => {
      for (const c of randomCalls(500, 31)) {
        const values = [
          c.timestamp.getTime(),
          c.latencyMs,
          c.success ? 1 : 0,
          c.modelId,
          c.timeToFirstTokenMs,
          c.inputTokens,
          c.outputTokens,
          c.errorType,
          1,
          c.outcome,
        ]
        insertOld.run(...(values.map((v) => v ?? null) as [number]))
      }
    })()
    const columns = sqlite.query<{ name: string }, []>("SELECT name FROM pragma_table_info('invocations')").all()
    expect(columns.map((c) => c.name)).not.toContain('cache_read_input_tokens')
    sqlite.close()

    const upgraded = openDatabase(path)
    cleanups.push(() => upgraded.close())
    expectRollupMatchesCalls(upgraded.sqlite)
    // an old conversation keeps prompt caching on (the default), and new calls carry their cache tokens
    expect(upgraded.sqlite.query<{ prompt_caching: number }, []>("SELECT prompt_caching FROM conversations WHERE id = 'c1'").get()).toEqual({
      prompt_caching: 1,
    })
    upgraded.db.insert(invocations).values(randomCalls(200, 32)).run()
    expectRollupMatchesCalls(upgraded.sqlite)
    const [sums] = upgraded.sqlite
      .query<{ read: number; write: number }, []>(
        `SELECT sum(cache_read_input_tokens) AS read, sum(cache_write_input_tokens) AS write FROM invocation_rollup WHERE bucket_ms = ${ALL_TIME} AND model_id = '${ALL_MODELS}'`,
      )
      .all()
    expect(sums!.read).toBeGreaterThan(0)
    expect(sums!.write).toBeGreaterThan(0)
  })
})

describe('resolutions and histogram', () => {
  test('the GenAI buckets are the OpenTelemetry spec boundaries, each a whole number of milliseconds', () => {
    // gen_ai.client.operation.duration and gen_ai.client.operation.time_to_first_chunk
    expect(GEN_AI_DURATION_BOUNDS_S).toEqual([0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92])
    expect(GEN_AI_DURATION_BOUNDS_MS).toEqual([10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 40960, 81920])
    // gen_ai.client.token.usage
    expect(GEN_AI_TOKEN_BOUNDS).toEqual([1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864])
    expect(GEN_AI_BUCKETS).toBe(15)
  })

  test('each range reads a resolution the rollup keeps, and each resolution divides the next', () => {
    for (const range of RANGE_KEYS) {
      expect(ROLLUP_BUCKETS_MS as readonly number[]).toContain(RANGES[range].bucketMs)
      expect(RANGES[range].ms % RANGES[range].bucketMs).toBe(0)
    }
    for (let i = 1; i < ROLLUP_BUCKETS_MS.length; i++) expect(ROLLUP_BUCKETS_MS[i]! % ROLLUP_BUCKETS_MS[i - 1]!).toBe(0)
  })

  test('every histogram bucket spans at most 20% of its lower edge, or 1 ms, up to 10 minutes', () => {
    expect(HISTOGRAM_BOUNDS_MS[0]).toBe(1)
    expect(HISTOGRAM_BOUNDS_MS.at(-1)!).toBeGreaterThanOrEqual(600_000)
    for (let i = 1; i < HISTOGRAM_BOUNDS_MS.length; i++) {
      const lower = HISTOGRAM_BOUNDS_MS[i - 1]!
      const upper = HISTOGRAM_BOUNDS_MS[i]!
      expect(upper).toBeGreaterThan(lower)
      expect(upper - lower === 1 || upper <= 1.2 * lower).toBe(true)
    }
  })

  test('the buckets that tile a range are aligned, contiguous and exact', () => {
    const rand = seededRandom(17)
    for (let i = 0; i < 300; i++) {
      const now = NOW + Math.floor(rand() * 30 * DAY)
      for (const range of RANGE_KEYS) {
        const win = rangeWindow(range, now)
        const segments = coverWindow(win)
        expect(segments[0]!.from).toBe(win.from)
        expect(segments.at(-1)!.to).toBe(win.to)
        for (const [j, s] of segments.entries()) {
          expect(s.from % s.level).toBe(0)
          expect(s.to % s.level).toBe(0)
          expect(s.to).toBeGreaterThan(s.from)
          if (j > 0) expect(s.from).toBe(segments[j - 1]!.to)
        }
        expect(segments.length).toBeLessThanOrEqual(2 * ROLLUP_BUCKETS_MS.length)
      }
    }
  })
})
