import { join } from 'node:path'
import { mkdirSync } from 'node:fs'
import { openDatabase, type OpenedDatabase } from '../src/db/open.ts'
import { invocations } from '../src/db/schema.ts'
import { openPostgres } from '../src/db/pg/open.ts'
import { postgresReadClient, postgresReader } from '../src/db/pg/sql-reader.ts'
import { invocations as pgInvocations } from '../src/db/pg/schema.ts'
import { sqliteReader } from '../src/db/sql-reader.ts'
import { createMetricsQueries, invocationQuerySchema, RANGE_KEYS, type MetricsQueries, type RangeKey } from '../src/services/metrics/index.ts'
import { fill, fillPostgres } from './fill.ts'
import type { BenchPostgres } from './lib/postgres.ts'
import { fmt, median } from './lib/stats.ts'

/**
 * The dashboard's data layer against the original design's way (load every row, aggregate in
 * the program), at 1,000,000 and 10,000,000 calls over 7 days. Prints a table of medians and
 * writes bench/results.json. Queries run on a read-only connection, as the dashboard's own
 * process opens the database. With PostgreSQL, the same calls go into a PostgreSQL database too and
 * every line runs on both, one after the other (a noisy moment hits both), through the same
 * queries (createMetricsQueries over postgresReader, as the app's PostgreSQL store reads); the
 * ratio of both is to the same (a), measured on SQLite.
 */

const RUNS = 15
const BASELINE_RUNS = 5
const SCRATCH = join(import.meta.dir, 'scratch')

/** A line measured past this (its runs together) stops at 3 runs or more: a slow query on one database cannot hold the run for minutes. */
const LINE_BUDGET_MS = 15_000

/** One measured line of the dashboard-data benchmark (what bench/report.ts renders). */
export type DataResult = {
  name: string
  rows: number
  medianMs: number
  ratioVsBaseline: number | null
  /** The same line on PostgreSQL (absent without it, null where it is SQLite's alone). */
  postgresMs?: number | null
  postgresRatioVsBaseline?: number | null
}

/** Median wall time of `fn` over `runs` runs, after `warmup` unmeasured ones (fewer, at least 3, past LINE_BUDGET_MS). */
async function measure(fn: () => unknown, runs = RUNS, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn()
  const times: number[] = []
  const started = performance.now()
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    await fn()
    times.push(performance.now() - t0)
    if (times.length >= 3 && performance.now() - started > LINE_BUDGET_MS) break
  }
  return median(times)
}

/**
 * The original design's dashboard: every row into the program, then requests per minute,
 * average latency and error rate per minute computed there. It selects the original table's
 * columns (timestamp, latency_ms, success) with the raw driver, its fastest form.
 */
function originalDashboard(sqlite: OpenedDatabase['sqlite']) {
  const rows = sqlite.query<{ timestamp: number; latency_ms: number; success: number }, []>('SELECT timestamp, latency_ms, success FROM invocations').all()
  const minutes = new Map<number, { requests: number; latency: number; errors: number }>()
  for (const r of rows) {
    const minute = r.timestamp - (r.timestamp % 60_000)
    const m = minutes.get(minute) ?? { requests: 0, latency: 0, errors: 0 }
    m.requests += 1
    m.latency += r.latency_ms
    if (!r.success) m.errors += 1
    minutes.set(minute, m)
  }
  return [...minutes].map(([t, m]) => ({ t, requests: m.requests, avgLatencyMs: m.latency / m.requests, errorRate: m.errors / m.requests }))
}

/** Every panel of one dashboard refresh, as the dashboard asks for them. */
async function refresh(q: MetricsQueries, range: RangeKey, now: number) {
  await q.summary(range, now)
  await q.series(range, now)
  await q.errorsByType(range, now)
  await q.perModel(range, now)
  await q.invocations(invocationQuerySchema.parse({ range }), now)
  await q.models()
}

function listCase(q: MetricsQueries, now: number, input: Record<string, unknown>) {
  const query = invocationQuerySchema.parse(input)
  return () => q.invocations(query, now)
}

function drain(q: MetricsQueries, now: number, input: Record<string, unknown>) {
  const query = invocationQuerySchema.parse(input)
  return async () => {
    let chars = 0
    for await (const chunk of q.invocationsCsv(query, now)) chars += chunk.length
    return chars
  }
}

function sqliteVersion(sqlite: OpenedDatabase['sqlite']): string {
  return sqlite.query<{ v: string }, []>('SELECT sqlite_version() AS v').get()?.v ?? 'unknown'
}

/** One line of the table: what it runs on a database's queries, and how many runs (RUNS, 2 warm-ups by default). */
type Line = { name: string; run: (q: MetricsQueries) => () => unknown; runs?: number; warmup?: number }

/** The lines after (a), for a database of `last` pages in 7 days (the same calls on both databases: the same pages). */
function lines(now: number, last: number): Line[] {
  const list = (input: Record<string, unknown>, runs?: number, warmup?: number): Omit<Line, 'name'> => ({ run: (q) => listCase(q, now, input), runs, warmup })
  const llamaErrors = { range: '7d', model: 'us.meta.llama3-3-70b-instruct-v1:0', outcome: 'error', page: 20 }
  const sparse = { range: '1h', model: 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123', sort: 'input_tokens' }
  return [
    ...RANGE_KEYS.map((range): Line => ({ name: `(b) full dashboard refresh, ${range}`, run: (q) => () => refresh(q, range, now) })),
    { name: '    invocations 7d, page 1', ...list({ range: '7d' }) },
    { name: `    invocations 7d, middle page (${Math.ceil(last / 2)})`, ...list({ range: '7d', page: Math.ceil(last / 2) }) },
    { name: `    invocations 7d, last page (${last})`, ...list({ range: '7d', page: last }) },
    { name: '    invocations 7d, oldest first, page 1000', ...list({ range: '7d', dir: 'asc', page: 1000 }) },
    { name: '    invocations 7d, model + outcome=error filter, page 20', ...list(llamaErrors) },
    { name: '    invocations 7d, sorted by model, middle page', ...list({ range: '7d', sort: 'model', page: Math.ceil(last / 2) }) },
    { name: '    invocations 7d, sorted by latency, page 1', ...list({ range: '7d', sort: 'latency' }) },
    { name: '    invocations 7d, sorted by latency, page 100', ...list({ range: '7d', sort: 'latency', page: 100 }, 5) },
    { name: '    invocations 7d, sorted by latency, page 10,000 (skips 500k)', ...list({ range: '7d', sort: 'latency', page: 10_000 }, 3, 1) },
    { name: '    invocations 1h, sorted by output tokens, page 1', ...list({ range: '1h', sort: 'output_tokens' }) },
    { name: '    invocations 1h, a 2% model sorted by input tokens', ...list(sparse) },
    { name: '    invocations 24h, sorted by ttft asc, page 1', ...list({ range: '24h', sort: 'ttft', dir: 'asc' }, 5) },
    { name: '    CSV export, 15m range (every row, streamed)', run: (q) => drain(q, now, { range: '15m' }), runs: 5, warmup: 1 },
    { name: '    prometheus(), all time', run: (q) => () => q.prometheus() },
    { name: '    changeToken()', run: (q) => () => q.changeToken(), runs: 50 },
  ]
}

/** A call as data.ts records one, for either database's table (the same fields). */
const oneCall = () => ({
  timestamp: new Date(),
  latencyMs: 1234,
  success: true,
  modelId: 'us.amazon.nova-pro-v1:0',
  outcome: 'ok' as const,
  inputTokens: 10,
  outputTokens: 5,
  timeToFirstTokenMs: 300,
})

/**
 * The dashboard's data layer at each size of `SIZES` calls, on SQLite and (given `pg`) on
 * PostgreSQL, side by side; prints its table and returns its results.
 */
export async function dashboardQueries(SIZES: number[], pg?: BenchPostgres) {
  mkdirSync(SCRATCH, { recursive: true })
  const started = performance.now()
  const results: DataResult[] = []
  const fills: { rows: number; insertMs: number; indexMs: number; rollupMs: number; rollupFilledBy: string }[] = []
  const postgresFills: { rows: number; copyMs: number; indexMs: number; rollupMs: number; vacuumMs: number }[] = []
  let baselineMs = Number.NaN
  let sqlite = 'unknown'
  const ratioOf = (ms: number) => (Number.isFinite(baselineMs) ? baselineMs / ms : null)
  const ratioText = (ratio: number | null) => (ratio === null ? '' : `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)}x`)
  const rounded = (ratio: number | null) => (ratio === null ? null : Number(ratio.toFixed(1)))

  const record = (name: string, rows: number, medianMs: number, postgresMs?: number | null) => {
    const ratio = ratioOf(medianMs)
    const pgRatio = postgresMs == null ? null : ratioOf(postgresMs)
    results.push({
      name,
      rows,
      medianMs: Number(medianMs.toFixed(3)),
      ratioVsBaseline: rounded(ratio),
      ...(pg ? { postgresMs: postgresMs == null ? null : Number(postgresMs.toFixed(3)), postgresRatioVsBaseline: rounded(pgRatio) } : {}),
    })
    const pgText = pg ? ` ${(postgresMs == null ? '' : `${fmt(postgresMs)} ms`).padStart(12)} ${ratioText(pgRatio).padStart(8)}` : ''
    console.log(`${name.padEnd(66)} ${rows.toLocaleString('en-US').padStart(11)} ${fmt(medianMs).padStart(9)} ms ${ratioText(ratio).padStart(8)}${pgText}`)
  }

  for (const rows of SIZES) {
    const now = Date.now()
    const path = join(SCRATCH, `bench-${rows}.db`)
    process.stdout.write(`\nFilling ${rows.toLocaleString('en-US')} calls over 7 days into ${path} ...\n`)
    const filled = fill(path, rows, now)
    filled.database.close()
    fills.push({
      rows,
      insertMs: Math.round(filled.insertMs),
      indexMs: Math.round(filled.indexMs),
      rollupMs: Math.round(filled.rollupMs),
      rollupFilledBy: 'rebuild statements (rebuildRollup), triggers re-created after',
    })
    console.log(
      `  insert ${fmt(filled.insertMs)} ms (raw prepared statement, 100k per transaction), indexes ${fmt(filled.indexMs)} ms, ` +
        `rollup ${fmt(filled.rollupMs)} ms (filled by the rebuild statements, not per-row triggers)`,
    )
    let pgUrl: string | undefined
    if (pg) {
      pgUrl = await pg.database(`data_${rows}`)
      process.stdout.write(`Filling the same calls into PostgreSQL ${pg.version} ...\n`)
      const p = await fillPostgres(pgUrl, rows, now)
      postgresFills.push({
        rows,
        copyMs: Math.round(p.copyMs),
        indexMs: Math.round(p.indexMs),
        rollupMs: Math.round(p.rollupMs),
        vacuumMs: Math.round(p.vacuumMs),
      })
      console.log(
        `  COPY ${fmt(p.copyMs)} ms (triggers disabled), indexes ${fmt(p.indexMs)} ms, rollups ${fmt(p.rollupMs)} ms (rebuildRollupSql), VACUUM ANALYZE ${fmt(p.vacuumMs)} ms`,
      )
    }

    const reader = openDatabase(path, { readonly: true })
    sqlite = sqliteVersion(reader.sqlite)
    const q = createMetricsQueries(sqliteReader(reader.sqlite))
    const pgClient = pgUrl ? postgresReadClient(pgUrl, { max: 2, onnotice: () => {} }) : undefined
    const pq = pgClient ? createMetricsQueries(postgresReader(pgClient)) : undefined
    const pgHeader = pg ? ` ${'PostgreSQL'.padStart(12)} ${'vs (a)'.padStart(8)}` : ''
    console.log(`\n${'measure (median)'.padEnd(66)} ${'rows'.padStart(11)} ${'SQLite'.padStart(12)} ${'vs (a)'.padStart(8)}${pgHeader}`)

    const baselineRuns = rows === SIZES[0] ? BASELINE_RUNS : 3
    const baseline = await measure(() => originalDashboard(reader.sqlite), baselineRuns, 1)
    if (rows === SIZES[0]) baselineMs = baseline
    record('(a) original: load every row, aggregate per minute in JS', rows, baseline, null)

    const last = (await q.invocations(invocationQuerySchema.parse({ range: '7d' }), now)).pages
    if (pq) {
      const pgLast = (await pq.invocations(invocationQuerySchema.parse({ range: '7d' }), now)).pages
      if (pgLast !== last) console.log(`  (PostgreSQL has ${pgLast} pages in 7d, SQLite ${last}: the fills differ)`)
    }
    for (const line of lines(now, last)) {
      const onSqlite = await measure(line.run(q), line.runs, line.warmup)
      const onPostgres = pq ? await measure(line.run(pq), line.runs, line.warmup) : undefined
      record(line.name, rows, onSqlite, onPostgres)
    }
    reader.close()
    await pgClient?.end({ timeout: 5 })

    const writer = openDatabase(path)
    const insertOne = () => writer.db.insert(invocations).values(oneCall()).run()
    const pgWriter = pgUrl ? await openPostgres(pgUrl, { max: 1, migrate: false }) : undefined
    const pgInsertOne = pgWriter ? () => pgWriter.db.insert(pgInvocations).values(oneCall()) : undefined
    record(
      '    one call recorded by the app (triggers + indexes, autocommit)',
      rows,
      await measure(insertOne, 200, 5),
      pgInsertOne ? await measure(pgInsertOne, 200, 5) : undefined,
    )
    writer.close()
    await pgWriter?.close()
  }

  const totalS = (performance.now() - started) / 1000
  console.log(`\nratio = (a) on SQLite at ${SIZES[0]!.toLocaleString('en-US')} rows ÷ this line's median. ${totalS.toFixed(0)} s.`)
  return {
    rows: SIZES,
    sqlite,
    seconds: Number(totalS.toFixed(1)),
    fills,
    results,
    postgres: pg ? { version: pg.version, fills: postgresFills } : null,
  }
}
