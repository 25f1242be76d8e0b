import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { postgresDialect, sqliteDialect } from '../src/db/dialect.ts'
import { openDatabase } from '../src/db/open.ts'
import { openPostgres } from '../src/db/pg/open.ts'
import { postgresEngine } from '../src/db/pg/write-engine.ts'
import { createWriter, sqliteEngine, type Writer } from '../src/db/writer.ts'
import { configureLogging, getLogger } from '../src/logger.ts'
import { createMetrics } from '../src/services/metrics/index.ts'
import type { BenchPostgres } from './lib/postgres.ts'
import { percentile, printTable, ratio } from './lib/stats.ts'

/**
 * (g) Recording: calls recorded per second through the app's writer (createWriter with SQLite's
 * engine, its own thread, or PostgreSQL's, a pool of 4 as openPostgresStore opens it; each call's
 * INSERT built by createMetrics(...).record, kept, logged to the log file as the app does), by 1
 * recorder at a time and by 200 at once, each waiting for its call's id before recording the next.
 * Floor: a bare INSERT … RETURNING id loop on the raw driver (bun:sqlite on the main thread, one
 * autocommit per row; postgres.js with its default pool of 10), as many loops at once. Both write
 * into the same database, with its indexes and rollup triggers, alternating in rounds.
 */

type Rate = { calls: number; failed: number; perSecond: number; callsPerCommit?: number }
type Target = { floor(): Promise<boolean> | boolean; app(): Promise<boolean>; writer: Writer; rows(): Promise<number>; close(): Promise<void> }

/** `concurrent` loops calling `call` until `ms` have passed; calls per second of wall time until the last one is back. */
async function drive(concurrent: number, ms: number, call: () => Promise<boolean> | boolean): Promise<Rate> {
  let calls = 0
  let failed = 0
  const started = performance.now()
  const until = started + ms
  await Promise.all(
    Array.from({ length: concurrent }, async () => {
      while (performance.now() < until) {
        if (await call()) calls += 1
        else failed += 1
      }
    }),
  )
  return { calls, failed, perSecond: calls / ((performance.now() - started) / 1000) }
}

const MODEL = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'

/** The call each recorder records: an ok call, now. */
const entry = () => ({
  timestamp: new Date(),
  latencyMs: 1234,
  modelId: MODEL,
  outcome: 'ok' as const,
  inputTokens: 812,
  outputTokens: 103,
  timeToFirstTokenMs: 310,
})

const log = getLogger('metrics')

async function sqliteTarget(dir: string): Promise<Target> {
  const path = join(dir, 'recording.db')
  const database = openDatabase(path)
  const writer = createWriter(sqliteEngine(path))
  const metrics = createMetrics({ dialect: sqliteDialect(database.db), writer, log })
  const insert = database.sqlite.prepare<{ id: number }, [number, number, string, number, number, number]>(
    'INSERT INTO invocations (timestamp, latency_ms, success, model_id, outcome, input_tokens, output_tokens, time_to_first_token_ms, attempts)' +
      " VALUES (?, ?, 1, ?, 'ok', ?, ?, ?, 1) RETURNING id",
  )
  return {
    floor: () => {
      const e = entry()
      return Boolean(insert.get(e.timestamp.getTime(), e.latencyMs, e.modelId, e.inputTokens, e.outputTokens, e.timeToFirstTokenMs)?.id)
    },
    app: async () => (await metrics.record(entry()).recorded) !== null,
    writer,
    rows: async () => database.sqlite.query<{ n: number }, []>('SELECT count(*) AS n FROM invocations').get()?.n ?? 0,
    async close() {
      await writer.close(5000)
      database.close()
    },
  }
}

async function postgresTarget(url: string): Promise<Target> {
  const store = await openPostgres(url, { max: 4 })
  const writer = createWriter(postgresEngine(store.sql))
  const metrics = createMetrics({ dialect: postgresDialect(store.db), writer, log })
  const bare = postgres(url, { max: 10, onnotice: () => {} })
  return {
    floor: async () => {
      const e = entry()
      const [row] = await bare`
        INSERT INTO invocations (timestamp, latency_ms, success, model_id, outcome, input_tokens, output_tokens, time_to_first_token_ms, attempts)
        VALUES (${e.timestamp}, ${e.latencyMs}, true, ${e.modelId}, 'ok', ${e.inputTokens}, ${e.outputTokens}, ${e.timeToFirstTokenMs}, 1) RETURNING id`
      return Boolean(row?.id)
    },
    app: async () => (await metrics.record(entry()).recorded) !== null,
    writer,
    rows: async () => Number((await bare<{ n: string }[]>`SELECT count(*) AS n FROM invocations`)[0]?.n ?? 0),
    async close() {
      await writer.close(5000)
      await bare.end({ timeout: 5 })
      await store.close()
    },
  }
}

type Row = { database: 'sqlite' | 'postgres'; concurrent: number; floor: Rate; app: Rate; ratio: number }

/** Runs (g) for `seconds` a round, `rounds` rounds, at each of `concurrency`; on PostgreSQL too when given. */
export async function recordingRates(
  pg: BenchPostgres | undefined,
  { seconds, rounds, concurrency = [1, 200] }: { seconds: number; rounds: number; concurrency?: number[] },
) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-rec-'))
  const logging = configureLogging({ logDir: join(dir, 'logs'), console: false })
  const targets: [Row['database'], Target][] = [['sqlite', await sqliteTarget(dir)]]
  if (pg) targets.push(['postgres', await postgresTarget(await pg.database('recording'))])
  const results: Row[] = []
  const answered = { sqlite: 0, postgres: 0 }
  const rowsMatch: Partial<Record<Row['database'], boolean>> = {}
  try {
    for (const concurrent of concurrency) {
      for (const [database, target] of targets) {
        const floors: Rate[] = []
        const apps: Rate[] = []
        // a short warm-up of each (prepared statements, the writer's thread and connections)
        const counted = async (ms: number, call: () => Promise<boolean> | boolean) => {
          const rate = await drive(concurrent, ms, call)
          answered[database] += rate.calls
          return rate
        }
        await counted(200, target.floor)
        await counted(200, target.app)
        for (let round = 0; round < rounds; round++) {
          floors.push(await counted(seconds * 1000, target.floor))
          const commits = target.writer.commits
          const app = await counted(seconds * 1000, target.app)
          apps.push({ ...app, callsPerCommit: app.calls / Math.max(1, target.writer.commits - commits) })
        }
        const med = (runs: Rate[]): Rate => {
          const perSecond = percentile(
            runs.map((r) => r.perSecond),
            50,
          )
          const cpc = runs.map((r) => r.callsPerCommit).filter((x): x is number => x !== undefined)
          return {
            calls: runs.reduce((n, r) => n + r.calls, 0),
            failed: runs.reduce((n, r) => n + r.failed, 0),
            perSecond: Number(perSecond.toFixed(0)),
            ...(cpc.length ? { callsPerCommit: Number(percentile(cpc, 50).toFixed(1)) } : {}),
          }
        }
        const floor = med(floors)
        const app = med(apps)
        results.push({ database, concurrent, floor, app, ratio: ratio(app.perSecond, floor.perSecond) })
      }
    }
    // every call answered with an id is one row, no more, no less (the warm-ups' included)
    for (const [database, target] of targets) rowsMatch[database] = (await target.rows()) === answered[database]
  } finally {
    for (const [, target] of targets) await target.close()
    await logging.close()
    rmSync(dir, { recursive: true, force: true })
  }
  const name = { sqlite: 'SQLite', postgres: 'PostgreSQL' }
  console.log(`\n(g) calls recorded per second, median of ${rounds} rounds of ${seconds} s each (ratio = the app ÷ the bare INSERT loop)`)
  printTable([
    ['', ...concurrency.flatMap((c) => [`${c} at once`, 'ratio', 'calls/commit'])],
    ...targets.flatMap(([database]) => {
      const mine = concurrency.map((c) => results.find((r) => r.database === database && r.concurrent === c)!)
      return [
        [`${name[database]}: bare INSERT loop (floor)`, ...mine.flatMap((r) => [`${r.floor.perSecond}/s`, '', ''])],
        [`${name[database]}: the app's writer`, ...mine.flatMap((r) => [`${r.app.perSecond}/s`, `${r.ratio}x`, String(r.app.callsPerCommit ?? '')])],
      ]
    }),
  ])
  const failed = results.reduce((n, r) => n + r.floor.failed + r.app.failed, 0)
  for (const [database, match] of Object.entries(rowsMatch)) if (!match) console.log(`  ${database}: the rows are not the calls answered with an id`)
  if (failed) console.log(`  ${failed} calls failed`)
  if (!pg) console.log('  (no PostgreSQL rows: see the line above)')
  return { seconds, rounds, concurrency, failed, rowsMatch, results }
}
