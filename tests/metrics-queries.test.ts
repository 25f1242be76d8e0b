import { afterAll, afterEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { asc } from 'drizzle-orm'
import { openDatabase } from '../src/db/open.ts'
import { openPostgres, type OpenedPostgres } from '../src/db/pg/open.ts'
import * as pgSchema from '../src/db/pg/schema.ts'
import { numberPlaceholders, type PostgresReadClient, postgresReadClient, postgresReader } from '../src/db/pg/sql-reader.ts'
import { invocations, type Invocation, type NewInvocation } from '../src/db/schema.ts'
import { sqliteReader, type SqlReader } from '../src/db/sql-reader.ts'
import { spendReads } from '../src/services/chat/spend-reads.ts'
import {
  createMetricsQueries,
  invocationQuerySchema,
  RANGES,
  RANGE_KEYS,
  rangeWindow,
  SORTS,
  type InvocationQuery,
  type RangeKey,
} from '../src/services/metrics/index.ts'
import { costFor, priceFor } from '../src/services/models.ts'
import { percentileErrorBoundMs } from '../src/services/metrics/percentiles.ts'
import { seededRandom } from './seeded-random.ts'
import { skipWithoutPostgres, testDatabase, type TestDatabase } from './support/postgres.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** 12:00:30 UTC: half a minute into the current bucket. */
const NOW = Date.UTC(2026, 10, 27, 12, 0, 30)
const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'
const CLAUDE4 = 'anthropic.claude-sonnet-4-20250514-v1:0'
const NOVA = 'us.amazon.nova-lite-v1:0'
const ODD = 'weird,"model"\\x'

/**
 * Every case runs twice: on a SQLite file and on a PostgreSQL database (the same calls inserted
 * through the real table, the rollups made by each store's triggers), expecting the same figures.
 * PostgreSQL's cases are skipped, with a line saying why, where it is not installed; never in CI.
 */
const skipPostgres = skipWithoutPostgres('tests/metrics-queries.test.ts')
const DIALECTS = ['sqlite', 'postgres'] as const
type Dialect = (typeof DIALECTS)[number]

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup()
})

/** One PostgreSQL database for the file, emptied for each case (TRUNCATE is far cheaper than CREATE DATABASE). */
type Postgres = { database: TestDatabase; store: OpenedPostgres; read: PostgresReadClient }
let shared: Promise<Postgres> | undefined
const postgresOf = () =>
  (shared ??= (async () => {
    const database = await testDatabase()
    const store = await openPostgres(database.url, { max: 2 })
    return { database, store, read: postgresReadClient(database.url, { max: 3, onnotice: () => {} }) }
  })())
const closers: (() => Promise<unknown>)[] = []
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close()
  if (!shared) return
  const pg = await shared
  await pg.read.end({ timeout: 5 })
  await pg.store.close()
  await pg.database.drop()
})

/** Writes calls the way the app does: through the table, so the triggers keep the rollups. */
type Inserter = { insert(rows: NewInvocation[]): Promise<unknown> }

/** Another connection to the same database: what a second process or instance writes. */
type Other = Inserter & { exec(sql: string): Promise<unknown>; close(): Promise<unknown> }

type Store = {
  db: Inserter
  q: ReturnType<typeof createMetricsQueries>
  reader: SqlReader
  /** Every stored call, by id. */
  all(): Promise<Invocation[]>
  other(): Promise<Other>
  /** The queries on a connection that cannot write, and a write tried on it. */
  readOnly(): Promise<{ q: ReturnType<typeof createMetricsQueries>; tryWrite(): Promise<unknown>; close(): Promise<unknown> }>
}

async function freshStore(dialect: Dialect): Promise<Store> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'metrics-queries-'))
    const path = join(dir, 'metrics.db')
    const opened = openDatabase(path)
    cleanups.push(() => {
      opened.close()
      rmSync(dir, { recursive: true, force: true })
    })
    const reader = sqliteReader(opened.sqlite)
    const inserter = (db: typeof opened.db): Inserter => ({ insert: async (rows) => db.insert(invocations).values(rows).run() })
    return {
      db: inserter(opened.db),
      q: createMetricsQueries(reader),
      reader,
      all: async () => opened.db.select().from(invocations).orderBy(asc(invocations.id)).all(),
      async other() {
        const other = openDatabase(path)
        return { ...inserter(other.db), exec: async (sql) => other.sqlite.run(sql), close: async () => other.close() }
      },
      async readOnly() {
        const ro = openDatabase(path, { readonly: true })
        return {
          q: createMetricsQueries(sqliteReader(ro.sqlite)),
          tryWrite: async () => ro.sqlite.run('DELETE FROM invocations'),
          close: async () => ro.close(),
        }
      },
    }
  }
  const { database, store, read } = await postgresOf()
  await store.sql`TRUNCATE invocations, invocation_rollup, invocation_error_rollup, invocation_gen_ai_rollup RESTART IDENTITY CASCADE`
  const reader = postgresReader(read)
  return {
    db: { insert: (rows) => store.db.insert(pgSchema.invocations).values(rows) },
    q: createMetricsQueries(reader),
    reader,
    all: () => store.db.select().from(pgSchema.invocations).orderBy(asc(pgSchema.invocations.id)),
    async other() {
      const other = await openPostgres(database.url, { max: 1 })
      return {
        insert: (rows) => other.db.insert(pgSchema.invocations).values(rows),
        exec: (sql) => other.sql.unsafe(sql),
        close: () => other.close(),
      }
    },
    async readOnly() {
      const ro = postgresReadClient(database.url, { max: 1, onnotice: () => {}, connection: { default_transaction_read_only: true } })
      return { q: createMetricsQueries(postgresReader(ro)), tryWrite: () => ro.unsafe('DELETE FROM invocations'), close: () => ro.end({ timeout: 5 }) }
    },
  }
}

type Call = Partial<Omit<NewInvocation, 'timestamp'>> & { at: number }

function call({ at, ...rest }: Call): NewInvocation {
  const outcome = rest.outcome ?? 'ok'
  return {
    timestamp: new Date(at),
    latencyMs: 1000,
    success: outcome === 'ok',
    modelId: SONNET,
    outcome,
    timeToFirstTokenMs: outcome === 'ok' ? 200 : null,
    inputTokens: outcome === 'ok' ? 100 : null,
    outputTokens: outcome === 'ok' ? 50 : null,
    errorType: null,
    attempts: 1,
    ...rest,
  }
}

/** Inserts through drizzle, as the app does, so the triggers run. */
async function insert(db: Inserter, calls: Call[]) {
  for (let i = 0; i < calls.length; i += 200) await db.insert(calls.slice(i, i + 200).map(call))
}

function query(input: Partial<Record<keyof InvocationQuery, string | number>>): InvocationQuery {
  return invocationQuerySchema.parse(input)
}

for (const dialect of DIALECTS) {
  describe.skipIf(dialect === 'postgres' && skipPostgres)(dialect === 'sqlite' ? 'on SQLite' : 'on PostgreSQL', () => {
    let store: Store | undefined
    const tempDatabase = async () => {
      store = await freshStore(dialect)
      return store
    }
    const tempOther = () => store!.other()
    const tempReadOnly = () => store!.readOnly()

    describe('an empty table', () => {
      test('gives zeros, nulls, no error rate, and every bucket of every range empty', async () => {
        const { q } = await tempDatabase()
        for (const range of RANGE_KEYS) {
          const s = await q.summary(range, NOW)
          expect(s).toMatchObject({
            requests: 0,
            errors: 0,
            clientErrors: 0,
            serverErrors: 0,
            throttles: 0,
            stopped: 0,
            errorRate: null,
            avgLatencyMs: null,
            p50LatencyMs: null,
            p95LatencyMs: null,
            p99LatencyMs: null,
            avgTtftMs: null,
            inputTokens: 0,
            outputTokens: 0,
            outputTokensPerSecond: null,
            estimatedCostUsd: 0,
            costIsPartial: false,
          })
          const series = await q.series(range, NOW)
          expect(series).toHaveLength(RANGES[range].ms / RANGES[range].bucketMs)
          for (const p of series) {
            expect(p).toMatchObject({ requests: 0, successes: 0, errors: 0, errorRate: null, avgLatencyMs: null, p95LatencyMs: null })
            expect(p).toMatchObject({ inputTokens: 0, outputTokens: 0 })
          }
          expect(series.map((p) => p.t)).toEqual(series.map((_, i) => series[0]!.t + i * RANGES[range].bucketMs))
          expect(await q.errorsByType(range, NOW)).toEqual([])
          expect(await q.perModel(range, NOW)).toEqual([])
          expect(await q.invocations(query({ range }), NOW)).toEqual({ rows: [], total: 0, page: 1, pageSize: 50, pages: 0 })
        }
        expect(await q.models()).toEqual([])
        expect((await Array.fromAsync(q.invocationsCsv(query({}), NOW))).join('')).toBe(
          'id,timestamp,model_id,outcome,latency_ms,time_to_first_token_ms,input_tokens,output_tokens,error_type,attempts,cache_read_input_tokens,cache_write_input_tokens\r\n',
        )
      })

      test('the series ends with the bucket holding now, oldest first, aligned to UTC', async () => {
        const { q } = await tempDatabase()
        const series = await q.series('6h', NOW)
        expect(series).toHaveLength(72)
        expect(series.at(-1)!.t).toBe(Date.UTC(2026, 10, 27, 12, 0, 0))
        expect(series[0]!.t).toBe(Date.UTC(2026, 10, 27, 6, 5, 0))
        expect((await q.series('7d', NOW)).at(-1)!.t).toBe(Date.UTC(2026, 10, 27, 12))
      })
    })

    describe('figures for a range', () => {
      test('all failures: error rate 1, no successes, latency still averaged', async () => {
        const { db, q } = await tempDatabase()
        await insert(db, [
          { at: NOW - 10_000, outcome: 'error', errorType: 'ThrottlingException', latencyMs: 100 },
          { at: NOW - 20_000, outcome: 'error', errorType: 'ValidationException', latencyMs: 300 },
        ])
        const s = await q.summary('15m', NOW)
        expect(s).toMatchObject({ requests: 2, successes: 0, errors: 2, errorRate: 1, avgLatencyMs: 200, throttles: 1, clientErrors: 1, serverErrors: 0 })
        expect(s.avgTtftMs).toBeNull()
        expect(s.outputTokensPerSecond).toBeNull()
        const last = (await q.series('15m', NOW)).at(-1)!
        expect(last).toMatchObject({ requests: 2, successes: 0, errors: 2, errorRate: 1 })
      })

      test('a call at 12:00:59.999 and one at 12:01:00.000 land in different minutes', async () => {
        const { db, q } = await tempDatabase()
        const now = Date.UTC(2026, 10, 27, 12, 3, 0)
        await insert(db, [
          { at: Date.UTC(2026, 10, 27, 11, 59, 59, 999), latencyMs: 10 },
          { at: Date.UTC(2026, 10, 27, 12, 0, 0, 0), latencyMs: 20 },
          { at: Date.UTC(2026, 10, 27, 12, 0, 59, 999), latencyMs: 30 },
          { at: Date.UTC(2026, 10, 27, 12, 1, 0, 0), latencyMs: 40 },
        ])
        const byMinute = new Map((await q.series('15m', now)).map((p) => [p.t, p]))
        expect(byMinute.get(Date.UTC(2026, 10, 27, 11, 59))).toMatchObject({ requests: 1, avgLatencyMs: 10 })
        expect(byMinute.get(Date.UTC(2026, 10, 27, 12, 0))).toMatchObject({ requests: 2, avgLatencyMs: 25 })
        expect(byMinute.get(Date.UTC(2026, 10, 27, 12, 1))).toMatchObject({ requests: 1, avgLatencyMs: 40 })
      })

      test('a range crossing midnight UTC keeps its buckets and totals', async () => {
        const { db, q } = await tempDatabase()
        const now = Date.UTC(2026, 10, 28, 0, 10, 30)
        await insert(db, [
          { at: Date.UTC(2026, 10, 27, 23, 44, 59, 999) },
          { at: Date.UTC(2026, 10, 27, 23, 45) },
          { at: Date.UTC(2026, 10, 27, 23, 59, 59, 999) },
          { at: Date.UTC(2026, 10, 28, 0, 0) },
          { at: Date.UTC(2026, 10, 28, 0, 10) },
        ])
        const quarter = new Map((await q.series('24h', now)).map((p) => [p.t, p.requests]))
        expect(quarter.get(Date.UTC(2026, 10, 27, 23, 30))).toBe(1)
        expect(quarter.get(Date.UTC(2026, 10, 27, 23, 45))).toBe(2)
        expect(quarter.get(Date.UTC(2026, 10, 28, 0, 0))).toBe(2)
        expect((await q.summary('1h', now)).requests).toBe(5)
        // 15 whole minutes ending with the current one: 23:56:00 to 00:11:00
        expect(await q.summary('15m', now)).toMatchObject({ requests: 3, from: Date.UTC(2026, 10, 27, 23, 56), to: Date.UTC(2026, 10, 28, 0, 11) })
        expect((await q.summary('24h', now)).requests).toBe(5)
        expect((await q.summary('7d', now)).requests).toBe(5)
      })

      test('every total equals the sum of its series, whatever mix of resolutions tiles the range', async () => {
        const { db, q } = await tempDatabase()
        const rand = seededRandom(7)
        const models = [SONNET, NOVA, CLAUDE4]
        await insert(
          db,
          Array.from({ length: 1500 }, () => ({
            at: NOW - Math.floor(rand() * 9 * DAY),
            modelId: models[Math.floor(rand() * 3)]!,
            latencyMs: Math.floor(rand() * 5000),
            outcome: rand() < 0.1 ? ('error' as const) : ('ok' as const),
          })),
        )
        for (const now of [NOW, NOW + 7 * HOUR + 13 * MINUTE, NOW + 2 * DAY + 59 * MINUTE]) {
          for (const range of RANGE_KEYS) {
            const s = await q.summary(range, now)
            const series = await q.series(range, now)
            const sum = (key: 'requests' | 'errors' | 'inputTokens') => series.reduce((n, p) => n + p[key], 0)
            expect({ range, requests: s.requests, errors: s.errors, input: s.inputTokens }).toEqual({
              range,
              requests: sum('requests'),
              errors: sum('errors'),
              input: sum('inputTokens'),
            })
            expect((await q.perModel(range, now)).reduce((n, m) => n + m.requests, 0)).toBe(s.requests)
            expect((await q.errorsByType(range, now)).reduce((n, e) => n + e.count, 0)).toBe(s.errors + s.stopped)
            expect((await q.invocations(query({ range }), now)).total).toBe(s.requests)
          }
        }
      })

      test('percentiles of 1..1000 ms: p50 ≈ 500, p95 ≈ 950, p99 ≈ 990, within the stated bound', async () => {
        const { db, q } = await tempDatabase()
        await insert(
          db,
          Array.from({ length: 1000 }, (_, i) => ({ at: NOW - 1000 - i * 100, latencyMs: i + 1 })),
        )
        const s = await q.summary('15m', NOW)
        for (const [value, exact] of [
          [s.p50LatencyMs, 500],
          [s.p95LatencyMs, 950],
          [s.p99LatencyMs, 990],
        ] as const) {
          expect(value).not.toBeNull()
          expect(Math.abs(value! - exact)).toBeLessThanOrEqual(percentileErrorBoundMs(exact))
          expect(Math.abs(value! - exact)).toBeLessThanOrEqual(1)
        }
        expect(s.avgLatencyMs).toBe(500.5)
      })

      test('percentiles of a skewed distribution stay within 20% (or 1 ms) of the exact nearest rank', async () => {
        const { db, q } = await tempDatabase()
        const rand = seededRandom(3)
        const latencies = Array.from({ length: 3000 }, () => Math.round(Math.exp(3 + 6 * rand())))
        await insert(
          db,
          latencies.map((latencyMs, i) => ({ at: NOW - 1000 - i * 200, latencyMs })),
        )
        const sorted = [...latencies].sort((a, b) => a - b)
        const exact = (p: number) => sorted[Math.ceil(p * sorted.length) - 1]!
        const s = await q.summary('15m', NOW)
        for (const [value, p] of [
          [s.p50LatencyMs, 0.5],
          [s.p95LatencyMs, 0.95],
          [s.p99LatencyMs, 0.99],
        ] as const) {
          expect(Math.abs(value! - exact(p))).toBeLessThanOrEqual(percentileErrorBoundMs(exact(p)))
        }
      })

      test('errors are grouped by category, stopped calls apart', async () => {
        const { db, q } = await tempDatabase()
        const types: [string, 'error' | 'stopped', number][] = [
          ['ThrottlingException', 'error', 3],
          ['ValidationException', 'error', 2],
          ['ResourceNotFoundException', 'error', 1],
          ['AccessDeniedException', 'error', 1],
          ['UnrecognizedClientException', 'error', 1],
          ['CredentialsProviderError', 'error', 1],
          ['InternalServerException', 'error', 2],
          ['ServiceUnavailableException', 'error', 1],
          ['ModelTimeoutException', 'error', 1],
          ['ModelStreamErrorException', 'error', 1],
          ['FirstTokenTimeout', 'error', 1],
          ['StreamIdleTimeout', 'error', 1],
          ['MalformedStreamError', 'error', 1],
          ['EventMessageTooLargeError', 'error', 1],
          ['NetworkError', 'error', 2],
          ['IncompleteStreamError', 'error', 1],
          ['Stopped', 'stopped', 2],
          ['Disconnected', 'stopped', 1],
          ['Shutdown', 'stopped', 1],
        ]
        await insert(
          db,
          types.flatMap(([errorType, outcome, n]) => Array.from({ length: n }, (_, i) => ({ at: NOW - 5000 - i, outcome, errorType }))),
        )
        await insert(db, [{ at: NOW - 1000, outcome: 'error', errorType: null }])
        const byType = new Map((await q.errorsByType('1h', NOW)).map((e) => [e.type, e]))
        expect(byType.get('ThrottlingException')).toEqual({ category: 'throttled', type: 'ThrottlingException', count: 3 })
        expect(byType.get('ValidationException')?.category).toBe('validation')
        expect(byType.get('ResourceNotFoundException')?.category).toBe('validation')
        expect(byType.get('AccessDeniedException')?.category).toBe('access')
        expect(byType.get('UnrecognizedClientException')?.category).toBe('access')
        expect(byType.get('CredentialsProviderError')?.category).toBe('access')
        for (const t of [
          'InternalServerException',
          'ServiceUnavailableException',
          'ModelTimeoutException',
          'ModelStreamErrorException',
          'FirstTokenTimeout',
          'StreamIdleTimeout',
          'MalformedStreamError',
          'EventMessageTooLargeError',
        ]) {
          expect(byType.get(t)?.category).toBe('server')
        }
        expect(byType.get('NetworkError')?.category).toBe('other')
        expect(byType.get('IncompleteStreamError')?.category).toBe('other')
        expect(byType.get('Unknown')).toEqual({ category: 'other', type: 'Unknown', count: 1 })
        for (const t of ['Stopped', 'Disconnected', 'Shutdown']) expect(byType.get(t)?.category).toBe('stopped')
        expect((await q.errorsByType('1h', NOW))[0]?.type).toBe('ThrottlingException')
        expect(await q.summary('1h', NOW)).toMatchObject({
          errors: 22,
          stopped: 4,
          throttles: 3,
          clientErrors: 6,
          serverErrors: 9,
          otherErrors: 4,
          requests: 26,
        })
      })
    })

    describe('per model, with cost', () => {
      test('prices: with or without a profile prefix, as an ARN, unknown as null', async () => {
        expect(priceFor('anthropic.claude-sonnet-4-20250514-v1:0')).toEqual({ inputPer1k: 0.003, outputPer1k: 0.015 })
        expect(priceFor('us.anthropic.claude-sonnet-4-20250514-v1:0')).toEqual(priceFor('anthropic.claude-sonnet-4-20250514-v1:0'))
        expect(priceFor('arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0')).toEqual(priceFor('amazon.nova-pro-v1:0'))
        expect(priceFor('arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-3-70b-instruct-v1:0')).not.toBeNull()
        expect(priceFor('global.anthropic.claude-haiku-4-5-20251001-v1:0')).toEqual({ inputPer1k: 0.001, outputPer1k: 0.005 })
        // a geographic profile of the 4.5 generation is billed 10% above the global one
        expect(priceFor('eu.anthropic.claude-haiku-4-5-20251001-v1:0')!.inputPer1k).toBeCloseTo(0.0011, 10)
        expect(priceFor('apac.anthropic.claude-3-5-haiku-20241022-v1:0')).toEqual({ inputPer1k: 0.0008, outputPer1k: 0.004 })
        expect(priceFor('some.unknown-model-v1:0')).toBeNull()
        expect(costFor('some.unknown-model-v1:0', 1000, 1000)).toBeNull()
      })

      test('each model gets its figures and cost; an unknown price makes the total partial, never 0', async () => {
        const { db, q } = await tempDatabase()
        await insert(db, [
          { at: NOW - 1000, modelId: CLAUDE4, inputTokens: 1000, outputTokens: 1000, latencyMs: 400 },
          { at: NOW - 2000, modelId: CLAUDE4, inputTokens: 2000, outputTokens: 0, latencyMs: 600 },
          { at: NOW - 3000, modelId: CLAUDE4, outcome: 'error', errorType: 'ThrottlingException', latencyMs: 50 },
          { at: NOW - 4000, modelId: 'mystery.model-v1:0', inputTokens: 500, outputTokens: 500 },
        ])
        const rows = await q.perModel('1h', NOW)
        expect(rows.map((m) => m.modelId)).toEqual([CLAUDE4, 'mystery.model-v1:0'])
        const claude = rows[0]!
        expect(claude).toMatchObject({ requests: 3, errors: 1, inputTokens: 3000, outputTokens: 1000, avgLatencyMs: 350 })
        expect(claude.errorRate).toBeCloseTo(1 / 3, 10)
        expect(claude.estimatedCostUsd).toBeCloseTo(3 * 0.003 + 1 * 0.015, 10)
        expect(claude.p95LatencyMs).not.toBeNull()
        expect(rows[1]!.estimatedCostUsd).toBeNull()
        const s = await q.summary('1h', NOW)
        expect(s.estimatedCostUsd).toBeCloseTo(0.024, 10)
        expect(s.costIsPartial).toBe(true)
        expect(s.outputTokensPerSecond).toBeCloseTo((1500 * 1000) / (400 + 600 + 1000), 6)
      })

      test('only unknown prices: the cost is unknown, not 0', async () => {
        const { db, q } = await tempDatabase()
        await insert(db, [{ at: NOW - 1000, modelId: 'mystery.model-v1:0', inputTokens: 500, outputTokens: 500 }])
        expect(await q.summary('1h', NOW)).toMatchObject({ estimatedCostUsd: null, costIsPartial: true })
      })
    })

    /** The list's order, computed here from the rows themselves: what SQL must reproduce. */
    function expectedOrder(rows: Invocation[], q: InvocationQuery, from: number, to: number): number[] {
      const sign = q.dir === 'asc' ? 1 : -1
      const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0)
      const time = (a: Invocation, b: Invocation) => cmp(a.timestamp.getTime(), b.timestamp.getTime()) || cmp(a.id, b.id)
      const numeric = { latency: 'latencyMs', ttft: 'timeToFirstTokenMs', input_tokens: 'inputTokens', output_tokens: 'outputTokens' } as const
      const key = (r: Invocation): (string | number)[] => {
        if (q.sort === 'timestamp') return []
        if (q.sort === 'model') return [r.modelId]
        if (q.sort === 'outcome') return [r.outcome]
        return [r[numeric[q.sort]] ?? Number.NaN]
      }
      return rows
        .filter((r) => r.timestamp.getTime() >= from && r.timestamp.getTime() < to)
        .filter((r) => (!q.model || r.modelId === q.model) && (!q.outcome || r.outcome === q.outcome))
        .sort((a, b) => {
          const [ka] = key(a)
          const [kb] = key(b)
          if (ka !== undefined && kb !== undefined) {
            // calls without the value come last, whichever the direction
            const aNull = typeof ka === 'number' && Number.isNaN(ka)
            const bNull = typeof kb === 'number' && Number.isNaN(kb)
            if (aNull !== bNull) return aNull ? 1 : -1
            if (!aNull && ka !== kb) return sign * cmp(ka, kb)
          }
          return sign * time(a, b)
        })
        .map((r) => r.id)
    }

    describe('the Invocations list', () => {
      async function seeded() {
        const database = await tempDatabase()
        const rand = seededRandom(11)
        const models = [SONNET, NOVA, CLAUDE4, ODD]
        const calls: Call[] = Array.from({ length: 1200 }, (_, i) => {
          const r = rand()
          const outcome = r < 0.15 ? ('error' as const) : r < 0.2 ? ('stopped' as const) : ('ok' as const)
          // dense in the last hour, sparse over the week before; some calls share a timestamp
          const at = i < 700 ? NOW - Math.floor(rand() * HOUR) : NOW - Math.floor(rand() * 7.5 * DAY)
          return {
            at: i % 50 === 0 ? NOW - 5 * MINUTE : at,
            modelId: models[Math.floor(rand() * models.length)]!,
            outcome,
            errorType: outcome === 'error' ? 'ThrottlingException' : outcome === 'stopped' ? 'Stopped' : null,
            latencyMs: Math.floor(rand() * 300),
            timeToFirstTokenMs: rand() < 0.3 ? null : Math.floor(rand() * 100),
            inputTokens: rand() < 0.1 ? null : Math.floor(rand() * 50),
            outputTokens: outcome === 'ok' ? Math.floor(rand() * 40) : null,
          }
        })
        await insert(database.db, calls)
        const all = await database.all()
        return { ...database, all }
      }

      test('pages, sorts and filters exactly as the rows themselves say, at every depth', async () => {
        const { q, all } = await seeded()
        const cases: Partial<Record<keyof InvocationQuery, string | number>>[] = []
        for (const range of ['1h', '7d'] as RangeKey[]) {
          for (const sort of SORTS) for (const dir of ['asc', 'desc']) cases.push({ range, sort, dir, pageSize: 37 })
          cases.push({ range, outcome: 'error', pageSize: 10 }, { range, model: ODD, pageSize: 10 }, { range, model: NOVA, outcome: 'stopped', pageSize: 10 })
          cases.push({ range, model: NOVA, sort: 'latency', dir: 'asc', pageSize: 10 }, { range, outcome: 'ok', sort: 'ttft', pageSize: 25 })
          cases.push({ range, outcome: 'error', sort: 'output_tokens', dir: 'asc', pageSize: 10 }, { range, outcome: 'stopped', sort: 'model', pageSize: 10 })
          // few matching calls: these read the range's calls and sort them instead of walking an index
          for (const dir of ['asc', 'desc']) cases.push({ range, model: ODD, outcome: 'stopped', sort: 'ttft', dir, pageSize: 10 })
          cases.push({ range, model: ODD, outcome: 'error', sort: 'input_tokens', pageSize: 10 })
        }
        for (const input of cases) {
          const first = await q.invocations(query(input), NOW)
          const { from, to } = rangeWindow(query(input).range, NOW)
          const expected = expectedOrder(all, query(input), from, to)
          expect({ input, total: first.total }).toEqual({ input, total: expected.length })
          expect(first.pages).toBe(Math.ceil(expected.length / first.pageSize))
          const seen: number[] = []
          for (let page = 1; page <= first.pages; page++) {
            const result = await q.invocations(query({ ...input, page }), NOW)
            seen.push(...result.rows.map((r) => r.id))
          }
          expect({ input, ids: seen }).toEqual({ input, ids: expected })
        }
      })

      test('rows come back whole and typed', async () => {
        const { q, all } = await seeded()
        const [row] = (await q.invocations(query({ range: '7d', pageSize: 10 }), NOW)).rows
        // every column but whose call it was, which the dashboard never shows
        const { owner: _, ...stored } = all.find((r) => r.id === row!.id)!
        expect(row).toEqual(stored)
        expect(row!.timestamp).toBeInstanceOf(Date)
        expect(typeof row!.success).toBe('boolean')
      })

      test('a page past the end is empty, not an error', async () => {
        const { q } = await seeded()
        const result = await q.invocations(query({ range: '1h', page: 999, pageSize: 50 }), NOW)
        expect(result.rows).toEqual([])
        expect(result.page).toBe(999)
        expect(result.total).toBeGreaterThan(0)
        expect((await q.invocations(query({ range: '1h', sort: 'latency', page: 999 }), NOW)).rows).toEqual([])
        expect((await q.invocations(query({ range: '1h', sort: 'model', page: 999 }), NOW)).rows).toEqual([])
        expect(await q.invocations(query({ range: '1h', model: 'never-seen-model', page: 1 }), NOW)).toMatchObject({ rows: [], total: 0, pages: 0 })
      })

      test('the model filter list comes from the rollup, sorted', async () => {
        const { q } = await seeded()
        expect(await q.models()).toEqual([CLAUDE4, SONNET, NOVA, ODD].sort())
      })

      test('two downloads of the same CSV at once each get every row, and one stopped early leaves the other whole', async () => {
        const { q } = await seeded()
        const input = query({ range: '7d', sort: 'latency' })
        const whole = (await Array.fromAsync(q.invocationsCsv(input, NOW))).join('')
        const [a, b, c] = [q.invocationsCsv(input, NOW), q.invocationsCsv(input, NOW), q.invocationsCsv(input, NOW)]
        const texts = ['', '']
        for (let step = 0; ; step++) {
          const [na, nb] = [await a.next(), await b.next()]
          if (step === 1) await c.next().then(() => c.return(undefined))
          if (na.done && nb.done) break
          if (!na.done) texts[0] += na.value
          if (!nb.done) texts[1] += nb.value
        }
        expect(texts).toEqual([whole, whole])
      })

      test('CSV: a header, the filtered rows in the list order, RFC 4180 quoting, in chunks', async () => {
        const { q, all } = await seeded()
        const input = { range: '7d', sort: 'latency', dir: 'asc' }
        const chunks = await Array.fromAsync(q.invocationsCsv(query(input), NOW))
        expect(chunks.length).toBeGreaterThan(2)
        for (const chunk of chunks) expect(chunk.endsWith('\r\n')).toBe(true)
        const text = chunks.join('')
        const lines = text.split('\r\n').slice(0, -1)
        expect(lines[0]).toBe(
          'id,timestamp,model_id,outcome,latency_ms,time_to_first_token_ms,input_tokens,output_tokens,error_type,attempts,cache_read_input_tokens,cache_write_input_tokens',
        )
        const { from, to } = rangeWindow('7d', NOW)
        expect(lines.slice(1).map((l) => Number(l.split(',')[0]))).toEqual(expectedOrder(all, query(input), from, to))
        const odd = all.find((r) => r.modelId === ODD && r.timestamp.getTime() >= from)!
        const line = lines.find((l) => l.startsWith(`${odd.id},`))!
        expect(line).toContain(',"weird,""model""\\x",')
        expect(line.startsWith(`${odd.id},${odd.timestamp.toISOString()},`)).toBe(true)
        const filtered = (await Array.fromAsync(q.invocationsCsv(query({ range: '1h', model: ODD, outcome: 'ok' }), NOW))).join('').split('\r\n').slice(1, -1)
        expect(filtered.length).toBe((await q.invocations(query({ range: '1h', model: ODD, outcome: 'ok' }), NOW)).total)
        expect(filtered.every((l) => l.includes(',"weird,""model""\\x",ok,'))).toBe(true)
      })
    })

    describe('Prometheus exposition', () => {
      const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/

      test('every line parses; histograms are cumulative and end at +Inf = _count; labels are escaped', async () => {
        const { db, q } = await tempDatabase()
        await insert(db, [
          ...Array.from({ length: 30 }, (_, i) => ({ at: NOW - i * 1000, latencyMs: 10 * i + 1, modelId: ODD })),
          { at: NOW - 1, outcome: 'error', errorType: 'ThrottlingException', modelId: ODD },
          { at: NOW - 2, outcome: 'error', errorType: 'InternalServerException' },
          { at: NOW - 3, outcome: 'stopped', errorType: 'Stopped' },
        ])
        const text = await q.prometheus()
        expect(text.endsWith('\n')).toBe(true)
        const lines = text.trimEnd().split('\n')
        const declared = new Map<string, string>()
        const buckets = new Map<string, { le: string; value: number }[]>()
        const counts = new Map<string, number>()
        for (const line of lines) {
          const type = /^# TYPE (\S+) (counter|histogram)$/.exec(line)
          if (type) {
            declared.set(type[1]!, type[2]!)
            continue
          }
          if (line.startsWith('# HELP ')) continue
          const m = SAMPLE.exec(line)
          expect({ line, parses: Boolean(m) }).toEqual({ line, parses: true })
          const name = m![1]!
          const base = name.replace(/_(bucket|sum|count)$/, '')
          expect(declared.has(name) || declared.get(base) === 'histogram').toBe(true)
          const labels = m![2] ?? ''
          // a series is its name and every label but le
          const series = labels.replace(/,?le="[^"]*"/, '')
          if (name.endsWith('_bucket')) {
            const key = `${base}|${series}`
            const le = /le="([^"]*)"/.exec(labels)?.[1] ?? ''
            buckets.set(key, [...(buckets.get(key) ?? []), { le, value: Number(m![3]) }])
          }
          if (name.endsWith('_count') && declared.get(base) === 'histogram') counts.set(`${base}|${series}`, Number(m![3]))
        }
        // per model: the two deprecated millisecond histograms, time to first chunk and token usage
        // (input and output); the duration per model and error type: ok and Throttling, server and Stopped
        expect(buckets.size).toBe(2 * (2 + 1 + 2) + 4)
        for (const [key, values] of buckets) {
          for (let i = 1; i < values.length; i++) {
            expect(values[i]!.value).toBeGreaterThanOrEqual(values[i - 1]!.value)
            if (i < values.length - 1) expect(Number(values[i]!.le)).toBeGreaterThan(Number(values[i - 1]!.le))
          }
          expect(values.at(-1)).toEqual({ le: '+Inf', value: counts.get(key)! })
        }
        expect(text).toContain('bedrock_invocations_total{model="weird,\\"model\\"\\\\x",outcome="ok"} 30')
        expect(text).toContain('bedrock_invocation_throttles_total{model="weird,\\"model\\"\\\\x"} 1')
        expect(text).toContain(`bedrock_invocation_errors_total{model="${SONNET}",category="server"} 1`)
        expect(text).toContain(`bedrock_invocations_total{model="${SONNET}",outcome="stopped"} 1`)
        expect(text).toContain(`bedrock_invocation_latency_ms_count{model="${SONNET}"} 2`)
        expect(text).toMatch(/bedrock_invocation_latency_ms_bucket\{model="weird,\\"model\\"\\\\x",le="\+Inf"\} 31\n/)
        const counters = ['bedrock_invocations_total', 'bedrock_invocation_errors_total', 'bedrock_invocation_throttles_total']
        for (const metric of [...counters, 'bedrock_input_tokens_total', 'bedrock_output_tokens_total']) {
          expect(declared.get(metric)).toBe('counter')
        }
        expect(declared.get('bedrock_invocation_latency_ms')).toBe('histogram')
        expect(declared.get('bedrock_time_to_first_token_ms')).toBe('histogram')
      })
    })

    describe('Prometheus exposition: the OpenTelemetry GenAI histograms', () => {
      const SECONDS = ['0.01', '0.02', '0.04', '0.08', '0.16', '0.32', '0.64', '1.28', '2.56', '5.12', '10.24', '20.48', '40.96', '81.92', '+Inf']
      const TOKENS = ['1', '4', '16', '64', '256', '1024', '4096', '16384', '65536', '262144', '1048576', '4194304', '16777216', '67108864', '+Inf']
      const GEN_AI = `gen_ai_provider_name="aws.bedrock",gen_ai_operation_name="chat",gen_ai_request_model="${SONNET}"`

      /** The `le` values and counts of one series' buckets, in order, from the exposition text. */
      function bucketsOf(text: string, metric: string, labels: string): [string, number][] {
        const prefix = `${metric}_bucket{${labels},le="`
        return text
          .split('\n')
          .filter((line) => line.startsWith(prefix))
          .map((line) => {
            const [le, value] = line.slice(prefix.length).split('"} ')
            return [le!, Number(value)]
          })
      }

      async function recorded() {
        const { db, q } = await tempDatabase()
        await insert(db, [
          { at: NOW - 1000, latencyMs: 5, timeToFirstTokenMs: 5 },
          { at: NOW - 2000, latencyMs: 10, timeToFirstTokenMs: 10 },
          { at: NOW - 3000, latencyMs: 11, timeToFirstTokenMs: 11, inputTokens: 3, cacheReadInputTokens: 10, cacheWriteInputTokens: 2, outputTokens: 0 },
          { at: NOW - 4000, latencyMs: 1500, timeToFirstTokenMs: 250 },
          { at: NOW - 5000, latencyMs: 90_000, timeToFirstTokenMs: 1200 },
          { at: NOW - 6000, latencyMs: 30, outcome: 'error', errorType: 'ThrottlingException' },
          { at: NOW - 7000, latencyMs: 100, outcome: 'error', errorType: null },
          { at: NOW - 8000, latencyMs: 700, timeToFirstTokenMs: 300, outcome: 'stopped', errorType: 'Stopped' },
          { at: NOW - 9000, modelId: 'example.unpriced-model-v1:0' },
        ])
        return await q.prometheus()
      }

      test('the operation duration is in seconds at the spec boundaries, cumulative, with _sum and _count of the calls that succeeded', async () => {
        const text = await recorded()
        const metric = 'gen_ai_client_operation_duration_seconds'
        expect(text).toContain(`# TYPE ${metric} histogram\n`)
        // 5 and 10 ms are within 0.01 s, 11 ms within 0.02 s, 1.5 s within 2.56 s, 90 s past 81.92 s
        expect(bucketsOf(text, metric, GEN_AI)).toEqual(SECONDS.map((le, i) => [le, i === 0 ? 2 : i < 8 ? 3 : i < 14 ? 4 : 5]))
        expect(text).toContain(`${metric}_sum{${GEN_AI}} 91.526\n`)
        expect(text).toContain(`${metric}_count{${GEN_AI}} 5\n`)
      })

      test('error_type is set on failed and stopped calls only, with the error name or _OTHER', async () => {
        const text = await recorded()
        const metric = 'gen_ai_client_operation_duration_seconds'
        expect(bucketsOf(text, metric, `${GEN_AI},error_type="ThrottlingException"`)).toEqual(SECONDS.map((le, i) => [le, i < 2 ? 0 : 1]))
        expect(text).toContain(`${metric}_sum{${GEN_AI},error_type="ThrottlingException"} 0.03\n`)
        expect(text).toContain(`${metric}_count{${GEN_AI},error_type="_OTHER"} 1\n`)
        expect(text).toContain(`${metric}_count{${GEN_AI},error_type="Stopped"} 1\n`)
        expect(text).toContain(`${metric}_sum{${GEN_AI},error_type="Stopped"} 0.7\n`)
        // never on the histograms the spec gives no error.type, never empty
        const withErrorType = text.split('\n').filter((line) => line.includes('error_type='))
        expect(withErrorType.length).toBe(3 * (SECONDS.length + 2))
        for (const line of withErrorType) expect(line).toMatch(/^gen_ai_client_operation_duration_seconds_(bucket|sum|count)\{.*error_type="[^"]+"/)
      })

      test('time to first chunk is in seconds, for every call that streamed a first token', async () => {
        const text = await recorded()
        const metric = 'gen_ai_client_operation_time_to_first_chunk_seconds'
        // 5, 10, 11, 250 and 1200 ms, and the stopped call's 300 ms
        expect(bucketsOf(text, metric, GEN_AI)).toEqual(SECONDS.map((le, i) => [le, [2, 3, 3, 3, 3, 5, 5, 6][i] ?? 6]))
        expect(text).toContain(`${metric}_sum{${GEN_AI}} 1.776\n`)
        expect(text).toContain(`${metric}_count{${GEN_AI}} 6\n`)
      })

      test('token usage per call: input with the prompt-cache tokens, output, at the spec boundaries', async () => {
        const text = await recorded()
        const metric = 'gen_ai_client_token_usage'
        // input: 3 + 10 read + 2 written = 15 tokens, and four calls of 100
        expect(bucketsOf(text, metric, `${GEN_AI},gen_ai_token_type="input"`)).toEqual(TOKENS.map((le, i) => [le, i < 2 ? 0 : i < 4 ? 1 : 5]))
        expect(text).toContain(`${metric}_sum{${GEN_AI},gen_ai_token_type="input"} 415\n`)
        // output: one call of 0 tokens (within 1), four of 50
        expect(bucketsOf(text, metric, `${GEN_AI},gen_ai_token_type="output"`)).toEqual(TOKENS.map((le, i) => [le, i < 3 ? 1 : 5]))
        expect(text).toContain(`${metric}_sum{${GEN_AI},gen_ai_token_type="output"} 200\n`)
        expect(text).toContain(`${metric}_count{${GEN_AI},gen_ai_token_type="output"} 5\n`)
        // the cache split stays on the CloudWatch-named counters, Bedrock's inputTokens without it
        expect(text).toContain(`bedrock_input_tokens_total{model="${SONNET}"} 403\n`)
        expect(text).toContain(`bedrock_cache_read_input_tokens_total{model="${SONNET}"} 10\n`)
      })

      test('the estimated cost counter uses the dashboard pricing and leaves out models of unknown price', async () => {
        const text = await recorded()
        expect(text).toContain('# TYPE bedrock_estimated_cost_usd_total counter\n')
        const line = text.split('\n').find((l) => l.startsWith(`bedrock_estimated_cost_usd_total{model="${SONNET}"} `))!
        expect(Number(line.split(' ').at(-1))).toBeCloseTo(costFor(SONNET, 403, 200, 10, 2)!, 12)
        expect(text).not.toContain('bedrock_estimated_cost_usd_total{model="example.unpriced-model-v1:0"}')
      })

      test('the millisecond histograms of before are still served, marked deprecated', async () => {
        const text = await recorded()
        expect(text).toMatch(/# HELP bedrock_invocation_latency_ms Deprecated, removed in the next release: use gen_ai_client_operation_duration_seconds\./)
        expect(text).toMatch(
          /# HELP bedrock_time_to_first_token_ms Deprecated, removed in the next release: use gen_ai_client_operation_time_to_first_chunk_seconds\./,
        )
        expect(text).toContain(`bedrock_invocation_latency_ms_count{model="${SONNET}"} 8\n`)
        expect(text).toContain(`bedrock_invocation_latency_ms_bucket{model="${SONNET}",le="10"} 2\n`)
        // and no new name is in milliseconds, nor labelled by person or conversation
        const names = new Set(
          text
            .split('\n')
            .filter((l) => l && !l.startsWith('#'))
            .map((l) => l.split(/[{ ]/)[0]!),
        )
        for (const name of names)
          if (!name.startsWith('bedrock_invocation_latency_ms') && !name.startsWith('bedrock_time_to_first_token_ms')) expect(name).not.toMatch(/_ms(_|$)/)
        expect(text).not.toMatch(/(owner|user|conversation|session)[a-z_]*="/)
      })
    })

    describe('another process', () => {
      test('changeToken moves when a second connection records, updates or deletes a call, and only then', async () => {
        const { q } = await tempDatabase()
        const before = await q.changeToken()
        expect(await q.changeToken()).toBe(before)
        const other = await tempOther()
        try {
          await insert(other, [{ at: NOW }, { at: NOW - 1000 }])
          const inserted = await q.changeToken()
          expect(inserted).not.toBe(before)
          expect(await q.changeToken()).toBe(inserted)
          await other.exec("UPDATE invocations SET outcome = 'error', success = false, error_type = 'ThrottlingException' WHERE id = 1")
          const updated = await q.changeToken()
          expect(updated).not.toBe(inserted)
          await other.exec('DELETE FROM invocations WHERE id = 1')
          const deleted = await q.changeToken()
          expect(deleted).not.toBe(updated)
          expect(await q.changeToken()).toBe(deleted)
        } finally {
          await other.close()
        }
      })

      test('changeToken moves on this connection’s own insert too', async () => {
        const { db, q } = await tempDatabase()
        const before = await q.changeToken()
        await insert(db, [{ at: NOW }])
        expect(await q.changeToken()).not.toBe(before)
      })

      test('a read-only connection runs every query and sees the writer’s calls', async () => {
        const { db } = await tempDatabase()
        await insert(db, [
          { at: NOW - 1000, modelId: ODD },
          { at: NOW - 2000, outcome: 'error', errorType: 'ThrottlingException' },
        ])
        const reader = await tempReadOnly()
        try {
          const { q } = reader
          for (const range of RANGE_KEYS) {
            expect((await q.summary(range, NOW)).requests).toBe(2)
            expect((await q.series(range, NOW)).reduce((n, p) => n + p.requests, 0)).toBe(2)
            expect(await q.errorsByType(range, NOW)).toHaveLength(1)
            expect(await q.perModel(range, NOW)).toHaveLength(2)
            for (const sort of SORTS) expect((await q.invocations(query({ range, sort }), NOW)).rows).toHaveLength(2)
            expect((await Array.fromAsync(q.invocationsCsv(query({ range, sort: 'output_tokens' }), NOW))).join('').split('\r\n')).toHaveLength(4)
          }
          expect(await q.models()).toEqual([SONNET, ODD].sort())
          expect(await q.prometheus()).toContain('bedrock_invocations_total')
          const token = await q.changeToken()
          await insert(db, [{ at: NOW }])
          expect(await q.changeToken()).not.toBe(token)
          await expect(reader.tryWrite()).rejects.toThrow()
        } finally {
          await reader.close()
        }
      })
    })
  })
}

describe('invocationQuerySchema', () => {
  test('fills in defaults and reads numbers from the query string', () => {
    expect(invocationQuerySchema.parse({})).toEqual({ range: '1h', page: 1, pageSize: 50, sort: 'timestamp', dir: 'desc', outcome: '', model: '' })
    expect(invocationQuerySchema.parse({ range: '7d', page: '3', pageSize: '10', sort: 'ttft', dir: 'asc', outcome: 'error', model: ` ${NOVA} ` })).toEqual({
      range: '7d',
      page: 3,
      pageSize: 10,
      sort: 'ttft',
      dir: 'asc',
      outcome: 'error',
      model: NOVA,
    })
  })

  test('refuses bad values with a message a person can act on', () => {
    const message = (input: Record<string, string>) => {
      const result = invocationQuerySchema.safeParse(input)
      expect(result.success).toBe(false)
      return result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
    }
    expect(message({ range: '2h' })).toBe('range: Time range must be one of 15m, 1h, 6h, 24h, 7d.')
    expect(message({ page: '0' })).toBe('page: Page must be a whole number, 1 or more.')
    expect(message({ page: 'two' })).toBe('page: Page must be a whole number, 1 or more.')
    expect(message({ page: '1.5' })).toBe('page: Page must be a whole number, 1 or more.')
    expect(message({ pageSize: '5' })).toBe('pageSize: Page size must be a whole number from 10 to 200.')
    expect(message({ pageSize: '500' })).toBe('pageSize: Page size must be a whole number from 10 to 200.')
    expect(message({ sort: 'cost' })).toBe('sort: Sort must be one of timestamp, latency, ttft, input_tokens, output_tokens, model, outcome.')
    expect(message({ dir: 'up' })).toBe('dir: Direction must be asc or desc.')
    expect(message({ outcome: 'failed' })).toBe('outcome: Outcome must be ok, error, stopped, or empty for all.')
    expect(message({ model: 'x'.repeat(3000) })).toBe('model: Model must be 2,048 characters or fewer.')
  })
})

describe.skipIf(skipPostgres)('PostgreSQL beside SQLite', () => {
  /** The same week of varied calls in both stores. */
  async function both() {
    const sqlite = await freshStore('sqlite')
    const pg = await freshStore('postgres')
    const rand = seededRandom(23)
    const models = [SONNET, NOVA, CLAUDE4, ODD, 'mystery.model-v1:0']
    const types = ['ThrottlingException', 'ValidationException', 'InternalServerException', null]
    const calls: Call[] = Array.from({ length: 1500 }, (_, i) => {
      const r = rand()
      const outcome = r < 0.15 ? ('error' as const) : r < 0.2 ? ('stopped' as const) : ('ok' as const)
      return {
        at: i < 800 ? NOW - Math.floor(rand() * HOUR) : NOW - Math.floor(rand() * 7.5 * DAY),
        modelId: models[Math.floor(rand() * models.length)]!,
        outcome,
        errorType: outcome === 'error' ? types[Math.floor(rand() * types.length)]! : outcome === 'stopped' ? 'Stopped' : null,
        latencyMs: Math.floor(Math.exp(rand() * 11)),
        timeToFirstTokenMs: rand() < 0.3 ? null : Math.floor(rand() * 2000),
        inputTokens: rand() < 0.1 ? null : Math.floor(rand() * 5000),
        outputTokens: outcome === 'ok' ? Math.floor(rand() * 900) : null,
        cacheReadInputTokens: rand() < 0.5 ? null : Math.floor(rand() * 9000),
        cacheWriteInputTokens: rand() < 0.7 ? null : Math.floor(rand() * 3000),
        owner: rand() < 0.4 ? 'owner-a' : 'owner-b',
      }
    })
    await insert(sqlite.db, calls)
    await insert(pg.db, calls)
    return { sqlite, pg }
  }

  /** A reader that writes down every statement it runs: the list's own SQL, to ask PostgreSQL for its plans. */
  function recording(reader: SqlReader, seen: { sql: string; params: readonly (string | number)[] }[]): SqlReader {
    const wrapped = (r: SqlReader): SqlReader => ({
      dialect: r.dialect,
      all: (sql, params) => (seen.push({ sql, params }), r.all(sql, params)),
      iterate: (sql, params) => (seen.push({ sql, params }), r.iterate(sql, params)),
      snapshot: (fn) => r.snapshot((inner) => fn(wrapped(inner))),
    })
    return wrapped(reader)
  }

  test('every panel, page, export and budget figure is the same on both, to the last digit', async () => {
    const { sqlite, pg } = await both()
    for (const range of RANGE_KEYS) {
      for (const now of [NOW, NOW + 7 * HOUR + 13 * MINUTE]) {
        expect({ range, s: await pg.q.summary(range, now) }).toEqual({ range, s: await sqlite.q.summary(range, now) })
        expect(await pg.q.series(range, now)).toEqual(await sqlite.q.series(range, now))
        expect(await pg.q.errorsByType(range, now)).toEqual(await sqlite.q.errorsByType(range, now))
        expect(await pg.q.perModel(range, now)).toEqual(await sqlite.q.perModel(range, now))
      }
      for (const sort of SORTS) {
        for (const input of [
          { range, sort },
          { range, sort, dir: 'asc', page: 3, pageSize: 20 },
          { range, sort, model: NOVA, outcome: 'ok', pageSize: 10, page: 2 },
        ]) {
          expect({ input, page: await pg.q.invocations(query(input), NOW) }).toEqual({ input, page: await sqlite.q.invocations(query(input), NOW) })
        }
        const csv = async (s: Store) => (await Array.fromAsync(s.q.invocationsCsv(query({ range, sort }), NOW))).join('')
        expect(await csv(pg)).toBe(await csv(sqlite))
      }
    }
    expect(await pg.q.models()).toEqual(await sqlite.q.models())
    expect(await pg.q.prometheus()).toBe(await sqlite.q.prometheus())
    const [pgSpend, sqliteSpend] = [spendReads(pg.reader), spendReads(sqlite.reader)]
    const since = NOW - 2 * HOUR
    // per model, in no order (the budgets add them up)
    const byModel = (rows: { modelId: string }[]) => rows.sort((x, y) => (x.modelId < y.modelId ? -1 : 1))
    expect(byModel(await pgSpend.ownerSince('owner-a', since))).toEqual(byModel(await sqliteSpend.ownerSince('owner-a', since)))
    expect(byModel(await pgSpend.serverSince(since))).toEqual(byModel(await sqliteSpend.serverSince(since)))
    expect((await sqliteSpend.serverSince(since)).length).toBeGreaterThan(3)
  }, 60_000)

  test('the list’s statements on PostgreSQL read invocations through its indexes, whatever the sort and filter', async () => {
    const { pg } = await both()
    const { read } = await postgresOf()
    await read`ANALYZE invocations`
    const seen: { sql: string; params: readonly (string | number)[] }[] = []
    const q = createMetricsQueries(recording(pg.reader, seen))
    for (const sort of SORTS) {
      for (const filter of [{}, { model: NOVA }, { outcome: 'error' }, { model: ODD, outcome: 'stopped' }]) {
        await q.invocations(query({ range: '7d', sort, page: 4, pageSize: 10, ...filter }), NOW)
        await Array.fromAsync(q.invocationsCsv(query({ range: '1h', sort, ...filter }), NOW))
      }
    }
    const listed = seen.filter((s) => /FROM invocations\b/.test(s.sql) && !/max\(id\)/.test(s.sql))
    expect(listed.length).toBeGreaterThan(40)
    for (const { sql, params } of listed) {
      // seq scans off: a statement that cannot use an index (a bound the index cannot take) still seq-scans, and fails here
      const plan = await read.begin(async (tx) => {
        await tx`SET LOCAL enable_seqscan = off`
        return tx.unsafe(`EXPLAIN ${numberPlaceholders(sql)}`, params as (string | number)[])
      })
      const text = plan.map((row) => Object.values(row)[0]).join('\n')
      expect({ sql, seqScan: /Seq Scan/.test(text) }).toEqual({ sql, seqScan: false })
      expect(text).toMatch(/Index (Only )?Scan|Bitmap Index Scan/)
    }
  }, 60_000)
})
