import { rmSync } from 'node:fs'
import { finished } from 'node:stream/promises'
import postgres from 'postgres'
import { openDatabase, type OpenedDatabase } from '../src/db/open.ts'
import { openPostgres } from '../src/db/pg/open.ts'
import { rebuildRollupSql } from '../src/db/pg/rollup-sql.ts'
import { rebuildRollup } from '../src/db/rollup-sql.ts'
// the same seeded generator as the tests, so every run writes the same calls
import { seededRandom } from '../tests/seeded-random.ts'

/**
 * A scratch metrics database (SQLite's, or PostgreSQL's: fillPostgres) with `rows` calls spread evenly over the 7 days before `now`,
 * written the fast way: triggers and indexes dropped, a raw prepared INSERT in transactions of
 * 100,000, then the indexes created again, the rollup rebuilt by its INSERT…SELECT statements
 * (rebuildRollup) and the triggers put back. The result has exactly the schema and rollup the
 * migrations and triggers give; only the way there is faster.
 */

const DAY = 86_400_000
const BATCH = 100_000

type Model = { id: string; share: number; medianMs: number }

/** Shares of traffic, and median latency (log-normal, σ = 0.6). The last has no known price. */
const MODELS: Model[] = [
  { id: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', share: 0.4, medianMs: 3200 },
  { id: 'us.anthropic.claude-haiku-4-5-20251001-v1:0', share: 0.25, medianMs: 1400 },
  { id: 'us.amazon.nova-pro-v1:0', share: 0.15, medianMs: 1800 },
  { id: 'us.meta.llama3-3-70b-instruct-v1:0', share: 0.1, medianMs: 2400 },
  { id: 'mistral.mistral-large-2407-v1:0', share: 0.08, medianMs: 2600 },
  { id: 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123', share: 0.02, medianMs: 3000 },
]

/** ~3% errors by type (share among errors) and ~1% stopped calls. */
const ERRORS: [string, number][] = [
  ['ThrottlingException', 0.4],
  ['ValidationException', 0.12],
  ['AccessDeniedException', 0.05],
  ['ResourceNotFoundException', 0.03],
  ['InternalServerException', 0.1],
  ['ServiceUnavailableException', 0.1],
  ['ModelTimeoutException', 0.05],
  ['ModelStreamErrorException', 0.05],
  ['NetworkError', 0.07],
  ['IncompleteStreamError', 0.03],
]
const STOPS: [string, number][] = [
  ['Stopped', 0.7],
  ['Disconnected', 0.25],
  ['Shutdown', 0.05],
]
const ERROR_RATE = 0.03
const STOP_RATE = 0.01

function pick<T>(r: number, items: readonly [T, number][]): T {
  let acc = 0
  for (const [item, share] of items) {
    acc += share
    if (r < acc) return item
  }
  return items[items.length - 1]![0]
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
}

type Row = [number, number, number, string, number | null, number | null, number | null, string | null, number, string]

function makeRow(rand: () => number, timestamp: number): Row {
  const model = pick(
    rand(),
    MODELS.map((m) => [m, m.share] as [Model, number]),
  )
  const r = rand()
  const outcome = r < ERROR_RATE ? 'error' : r < ERROR_RATE + STOP_RATE ? 'stopped' : 'ok'
  const full = Math.round(model.medianMs * Math.exp(0.6 * gaussian(rand)))
  const inputTokens = Math.round(800 * Math.exp(0.8 * gaussian(rand)))
  if (outcome === 'ok') {
    const outputTokens = Math.max(1, Math.round(full / 12))
    return [timestamp, full, 1, model.id, Math.round(full * (0.1 + 0.2 * rand())), inputTokens, outputTokens, null, 1, 'ok']
  }
  if (outcome === 'stopped') {
    const latency = Math.round(full * rand())
    return [timestamp, latency, 0, model.id, Math.round(latency * 0.3), inputTokens, null, pick(rand(), STOPS), 1, 'stopped']
  }
  const type = pick(rand(), ERRORS)
  const attempts = type === 'ThrottlingException' || type === 'ServiceUnavailableException' ? 3 : 1
  const latency = Math.round((type === 'ValidationException' ? 40 : full / 3) * Math.exp(0.5 * gaussian(rand)))
  return [timestamp, latency, 0, model.id, null, null, null, type, attempts, 'error']
}

/** The `rows` calls of a fill, in order: the same seed gives the same calls to SQLite and PostgreSQL. */
function* calls(rows: number, now: number, seed: number): Generator<Row> {
  const rand = seededRandom(seed)
  const from = now - 7 * DAY
  const step = (7 * DAY) / rows
  for (let i = 0; i < rows; i++) yield makeRow(rand, Math.floor(from + i * step))
}

/** The columns of Row, in its order, as both databases name them. */
const COLUMNS = 'timestamp, latency_ms, success, model_id, time_to_first_token_ms, input_tokens, output_tokens, error_type, attempts, outcome'

type SchemaObject = { type: string; name: string; sql: string }

export type Filled = { database: OpenedDatabase; path: string; insertMs: number; indexMs: number; rollupMs: number }

/** Writes the scratch database at `path` (replacing it) and reports how long each step took. */
export function fill(path: string, rows: number, now: number, seed = 1): Filled {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
  const database = openDatabase(path)
  const { sqlite } = database
  // a scratch file: no journal while loading (measured ~2x faster index builds than in WAL mode)
  sqlite.exec('PRAGMA journal_mode = OFF')
  sqlite.exec('PRAGMA synchronous = OFF')
  sqlite.exec('PRAGMA threads = 2')
  const dropped = sqlite
    .query<SchemaObject, []>("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'invocations' AND type IN ('index', 'trigger') AND sql IS NOT NULL")
    .all()
  for (const o of dropped) sqlite.exec(`DROP ${o.type.toUpperCase()} ${o.name}`)

  let started = performance.now()
  const insert = sqlite.prepare<unknown, Row>(`INSERT INTO invocations (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const source = calls(rows, now, seed)
  const writeBatch = sqlite.transaction((count: number) => {
    for (let i = 0; i < count; i++) insert.run(...(source.next().value as Row))
  })
  for (let first = 0; first < rows; first += BATCH) writeBatch(Math.min(BATCH, rows - first))
  const insertMs = performance.now() - started

  started = performance.now()
  for (const o of dropped.filter((o) => o.type === 'index')) sqlite.exec(o.sql)
  const indexMs = performance.now() - started

  started = performance.now()
  rebuildRollup(database.db)
  for (const o of dropped.filter((o) => o.type === 'trigger')) sqlite.exec(o.sql)
  const rollupMs = performance.now() - started
  sqlite.exec('PRAGMA journal_mode = WAL')
  sqlite.exec('PRAGMA synchronous = NORMAL')
  return { database, path, insertMs, indexMs, rollupMs }
}

export type FilledPostgres = { url: string; copyMs: number; indexMs: number; rollupMs: number; vacuumMs: number }

/**
 * The rebuild's statement with its calls' subquery fenced (OFFSET 0): PostgreSQL otherwise pulls
 * the subquery up and computes each call's histogram bucket (width_bucket) once per aggregate
 * that filters on it, ~80 times a call. The same rows either way (OFFSET 0 changes no result;
 * checked equal at 50,000 calls, md5 of every rollup row); measured 3.5x faster at 50,000 calls.
 * A statement whose text no longer has this shape runs as it is.
 */
const fenced = (statement: string) => statement.replace(/\n\) AS c\n/, '\n  OFFSET 0\n) AS c\n')

/** Lines of COPY's text format: tab-separated, \N for NULL (no value here holds a tab, newline or backslash). */
function copyLine(row: Row): string {
  const [timestamp, latency, success, ...rest] = row
  const text = (v: string | number | null) => (v === null ? '\\N' : String(v))
  return `${new Date(timestamp).toISOString()}\t${latency}\t${success ? 't' : 'f'}\t${rest.map(text).join('\t')}\n`
}

/**
 * The same calls as `fill` into the PostgreSQL database at `url` (migrated here, emptied first),
 * the fast way as well: the table's indexes dropped and its triggers disabled, one COPY, the
 * indexes created again, the rollups rebuilt by their statements (rebuildRollupSql, the same
 * upserts the statement-level triggers run) and the triggers enabled; then VACUUM ANALYZE, as
 * autovacuum would have done on a database that grew to this size (planner statistics, the
 * visibility map for index-only scans).
 */
export async function fillPostgres(url: string, rows: number, now: number, seed = 1): Promise<FilledPostgres> {
  const migrated = await openPostgres(url, { max: 1 })
  await migrated.close()
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    await sql`TRUNCATE invocations, invocation_rollup, invocation_error_rollup, invocation_gen_ai_rollup RESTART IDENTITY`
    // memory for the index builds and the rollups' grouping: a load, not the app's settings
    await sql`SET maintenance_work_mem = '512MB'`
    await sql`SET work_mem = '256MB'`
    // the rebuild's estimates pass JIT's thresholds, and compiling its ~80 aggregates costs seconds (measured 2 s at 20,000 calls)
    await sql`SET jit = off`
    const indexes = await sql<{ name: string; definition: string }[]>`
      SELECT indexname AS name, indexdef AS definition FROM pg_indexes
      WHERE schemaname = current_schema() AND tablename = 'invocations' AND indexname NOT IN (SELECT conname FROM pg_constraint)`
    for (const index of indexes) await sql.unsafe(`DROP INDEX ${index.name}`)
    await sql`ALTER TABLE invocations DISABLE TRIGGER USER`

    let started = performance.now()
    const copy = await sql.unsafe(`COPY invocations (${COLUMNS}) FROM STDIN`).writable()
    let chunk: string[] = []
    for (const row of calls(rows, now, seed)) {
      chunk.push(copyLine(row))
      if (chunk.length === 10_000) {
        if (!copy.write(chunk.join(''))) await new Promise((resolve) => copy.once('drain', resolve))
        chunk = []
      }
    }
    copy.end(chunk.join(''))
    await finished(copy)
    const copyMs = performance.now() - started

    started = performance.now()
    for (const index of indexes) await sql.unsafe(index.definition)
    const indexMs = performance.now() - started

    started = performance.now()
    await sql.begin(async (tx) => {
      for (const statement of rebuildRollupSql()) await tx.unsafe(fenced(statement))
    })
    await sql`ALTER TABLE invocations ENABLE TRIGGER USER`
    const rollupMs = performance.now() - started

    started = performance.now()
    await sql`VACUUM (ANALYZE) invocations, invocation_rollup, invocation_error_rollup, invocation_gen_ai_rollup`
    const vacuumMs = performance.now() - started
    return { url, copyMs, indexMs, rollupMs, vacuumMs }
  } finally {
    await sql.end({ timeout: 5 })
  }
}
