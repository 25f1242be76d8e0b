import { rmSync } from 'node:fs'
import { openDatabase, type OpenedDatabase } from '../src/db/open.ts'
import { rebuildRollup } from '../src/db/rollup-sql.ts'
// the same seeded generator as the tests, so every run writes the same calls
import { seededRandom } from '../tests/seeded-random.ts'

/**
 * A scratch metrics database with `rows` calls spread evenly over the 7 days before `now`,
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
  const insert = sqlite.prepare<unknown, Row>(
    'INSERT INTO invocations (timestamp, latency_ms, success, model_id, time_to_first_token_ms, input_tokens, output_tokens, error_type,' +
      ' attempts, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  )
  const rand = seededRandom(seed)
  const from = now - 7 * DAY
  const step = (7 * DAY) / rows
  const writeBatch = sqlite.transaction((first: number, last: number) => {
    for (let i = first; i < last; i++) insert.run(...makeRow(rand, Math.floor(from + i * step)))
  })
  for (let first = 0; first < rows; first += BATCH) writeBatch(first, Math.min(rows, first + BATCH))
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
