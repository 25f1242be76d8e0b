import { join } from 'node:path'
import { mkdirSync } from 'node:fs'
import { openDatabase, type OpenedDatabase } from '../src/db/open.ts'
import { invocations } from '../src/db/schema.ts'
import { sqliteReader } from '../src/db/sql-reader.ts'
import { createMetricsQueries, invocationQuerySchema, RANGE_KEYS, type MetricsQueries, type RangeKey } from '../src/services/metrics/index.ts'
import { fill } from './fill.ts'
import { fmt, median } from './lib/stats.ts'

/**
 * The dashboard's data layer against the original design's way (load every row, aggregate in
 * the program), at 1,000,000 and 10,000,000 calls over 7 days. Prints a table of medians and
 * writes bench/results.json. Queries run on a read-only connection, as the dashboard's own
 * process opens the database.
 */

const RUNS = 15
const BASELINE_RUNS = 5
const SCRATCH = join(import.meta.dir, 'scratch')

type Result = { name: string; rows: number; medianMs: number; ratioVsBaseline: number | null }

/** Median wall time of `fn` over `runs` runs, after `warmup` unmeasured ones. */
async function measure(fn: () => unknown, runs = RUNS, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn()
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    await fn()
    times.push(performance.now() - started)
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

/** The dashboard's data layer at each size of `SIZES` calls; prints its table and returns its results. */
export async function dashboardQueries(SIZES: number[]) {
  mkdirSync(SCRATCH, { recursive: true })
  const started = performance.now()
  const results: Result[] = []
  const fills: { rows: number; insertMs: number; indexMs: number; rollupMs: number; rollupFilledBy: string }[] = []
  let baselineMs = Number.NaN
  let sqlite = 'unknown'

  const record = async (name: string, rows: number, measured: number | Promise<number>) => {
    const medianMs = await measured
    const ratio = Number.isFinite(baselineMs) ? baselineMs / medianMs : null
    results.push({ name, rows, medianMs: Number(medianMs.toFixed(3)), ratioVsBaseline: ratio === null ? null : Number(ratio.toFixed(1)) })
    const ratioText = ratio === null ? '' : `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)}x`
    console.log(`${name.padEnd(58)} ${rows.toLocaleString('en-US').padStart(11)} ${fmt(medianMs).padStart(9)} ms ${ratioText.padStart(8)}`)
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

    const reader = openDatabase(path, { readonly: true })
    sqlite = sqliteVersion(reader.sqlite)
    const q = createMetricsQueries(sqliteReader(reader.sqlite))
    console.log(`\n${'measure (median)'.padEnd(58)} ${'rows'.padStart(11)} ${'time'.padStart(12)} ${'vs (a)'.padStart(8)}`)

    const baselineRuns = rows === SIZES[0] ? BASELINE_RUNS : 3
    const baseline = await measure(() => originalDashboard(reader.sqlite), baselineRuns, 1)
    if (rows === SIZES[0]) baselineMs = baseline
    await record('(a) original: load every row, aggregate per minute in JS', rows, baseline)

    for (const range of RANGE_KEYS)
      await record(
        `(b) full dashboard refresh, ${range}`,
        rows,
        measure(() => refresh(q, range, now)),
      )

    const last = (await q.invocations(invocationQuerySchema.parse({ range: '7d' }), now)).pages
    await record('    invocations 7d, page 1', rows, measure(listCase(q, now, { range: '7d' })))
    await record(`    invocations 7d, middle page (${Math.ceil(last / 2)})`, rows, measure(listCase(q, now, { range: '7d', page: Math.ceil(last / 2) })))
    await record(`    invocations 7d, last page (${last})`, rows, measure(listCase(q, now, { range: '7d', page: last })))
    await record('    invocations 7d, oldest first, page 1000', rows, measure(listCase(q, now, { range: '7d', dir: 'asc', page: 1000 })))
    const llamaErrors = { range: '7d', model: 'us.meta.llama3-3-70b-instruct-v1:0', outcome: 'error', page: 20 }
    await record('    invocations 7d, model + outcome=error filter, page 20', rows, measure(listCase(q, now, llamaErrors)))
    await record('    invocations 7d, sorted by model, middle page', rows, measure(listCase(q, now, { range: '7d', sort: 'model', page: Math.ceil(last / 2) })))
    await record('    invocations 7d, sorted by latency, page 1', rows, measure(listCase(q, now, { range: '7d', sort: 'latency' })))
    await record('    invocations 7d, sorted by latency, page 100', rows, measure(listCase(q, now, { range: '7d', sort: 'latency', page: 100 }), 5))
    await record(
      '    invocations 7d, sorted by latency, page 10,000 (skips 500k)',
      rows,
      measure(listCase(q, now, { range: '7d', sort: 'latency', page: 10_000 }), 3, 1),
    )
    await record('    invocations 1h, sorted by output tokens, page 1', rows, measure(listCase(q, now, { range: '1h', sort: 'output_tokens' })))
    const sparse = { range: '1h', model: 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123', sort: 'input_tokens' }
    await record('    invocations 1h, a 2% model sorted by input tokens', rows, measure(listCase(q, now, sparse)))
    await record('    invocations 24h, sorted by ttft asc, page 1', rows, measure(listCase(q, now, { range: '24h', sort: 'ttft', dir: 'asc' }), 5))
    await record('    CSV export, 15m range (every row, streamed)', rows, measure(drain(q, now, { range: '15m' }), 5, 1))
    await record(
      '    prometheus(), all time',
      rows,
      measure(() => q.prometheus()),
    )
    await record(
      '    changeToken()',
      rows,
      measure(() => q.changeToken(), 50),
    )
    reader.close()

    const writer = openDatabase(path)
    const insertOne = () =>
      writer.db
        .insert(invocations)
        .values({
          timestamp: new Date(),
          latencyMs: 1234,
          success: true,
          modelId: 'us.amazon.nova-pro-v1:0',
          outcome: 'ok',
          inputTokens: 10,
          outputTokens: 5,
          timeToFirstTokenMs: 300,
        })
        .run()
    await record('    one call recorded by the app (triggers + indexes, autocommit)', rows, measure(insertOne, 200, 5))
    writer.close()
  }

  const totalS = (performance.now() - started) / 1000
  console.log(`\nratio = (a) at ${SIZES[0]!.toLocaleString('en-US')} rows ÷ this line's median. ${totalS.toFixed(0)} s.`)
  return { rows: SIZES, sqlite, seconds: Number(totalS.toFixed(1)), fills, results }
}
